from amlexec.cli import main

raise SystemExit(main())
