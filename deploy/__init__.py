"""Deployment: renders the CloudFormation templates and Lambda zips from the project's sources.

``python -m deploy.build`` writes everything deployable into ``build/``;
``parameters.json`` and ``remediation/MoveIAMUserPoliciesToGroup.yaml`` are
read, never copied by hand.
"""
