"""``python -m no_direct_policies.simulation``: the demo (the product on a simulated account)."""

from no_direct_policies.simulation.demo import main

raise SystemExit(main())
