"""The remediation's move of a user's policies to groups.

``plan`` is the pure planner (and the safety argument), ``iam_reads`` reads the
state it plans from, ``executor`` performs the plan, ``request`` parses the
helper Lambda's payload and runs the whole move; ``verify_script`` is the SSM
documents' verification step (the move's and the undo's).
"""
