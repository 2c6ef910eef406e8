"""Contract suite: real VBoxManage 7.2 vs vboxsim (see runner.py)."""
