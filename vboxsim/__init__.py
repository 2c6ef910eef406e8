"""VBoxManage 7.2 simulator: a stand-in for VirtualBox's CLI with on-disk state."""
