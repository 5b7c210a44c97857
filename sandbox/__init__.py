"""The jail: run a command isolated by layers. A library that knows nothing of MCP.

profile.py    which layers a jail needs and its limits (what configuration says)
host.py       which layers this kernel can apply (for `doctor` and fail-closed checks)
landlock.py   Landlock through its three system calls (no maintained Python binding exists)
seccomp.py    the system-call filter, through libseccomp (pyseccomp)
launcher.py   the program that enters the jail and then becomes the jailed command
runner.py     starting a jailed command: timeout, capped output, nothing left running
"""
