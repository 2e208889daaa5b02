"""Test and demo support: what stands in for AWS.

A moto-backed account (``account``), AWS Config (``config_service``,
``config_events``), the SSM Automation runner (``document_runner``,
``document_run``) and the demo. Product code never imports this package;
it needs the ``simulation`` extra (moto) and a checkout of the repository.
"""
