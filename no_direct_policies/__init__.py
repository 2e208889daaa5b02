"""IAM_USER_NO_DIRECT_POLICIES: an AWS Config rule and its safe remediation.

``compliance`` decides (pure), ``move`` plans (pure) and performs the move of a
user's policies to groups, ``cli`` is the command-line tool. The two Lambda
entry files (``rules/.../IAM_USER_NO_DIRECT_POLICIES.py`` and
``remediation/move_policies_to_group.py``) import from here. ``simulation``
stands in for AWS in tests and the demo; product code never imports it.
"""

__version__ = "1.0.0"
