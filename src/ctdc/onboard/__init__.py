"""Onboarding: ``ctdc mapping init`` drafts ``pipelines/<org>.yaml`` from a sample export."""
