"""Subcommand handlers: each takes (ctx, argv-after-the-subcommand) and returns an exit code."""

from vboxsim.commands import appliance
from vboxsim.commands import control
from vboxsim.commands import listing
from vboxsim.commands import medium
from vboxsim.commands import modifyvm
from vboxsim.commands import properties
from vboxsim.commands import snapshot
from vboxsim.commands import storage
from vboxsim.commands import vm

COMMANDS = {
    "list": listing.list_command,
    "showvminfo": vm.showvminfo,
    "createvm": vm.createvm,
    "registervm": vm.registervm,
    "unregistervm": vm.unregistervm,
    "clonevm": vm.clonevm,
    "modifyvm": modifyvm.modifyvm,
    "storagectl": storage.storagectl,
    "storageattach": storage.storageattach,
    "createmedium": medium.createmedium,
    "createhd": medium.createmedium,
    "createvdi": medium.createmedium,
    "clonemedium": medium.clonemedium,
    "clonehd": medium.clonemedium,
    "clonevdi": medium.clonemedium,
    "modifymedium": medium.modifymedium,
    "modifyhd": medium.modifymedium,
    "closemedium": medium.closemedium,
    "showmediuminfo": medium.showmediuminfo,
    "showhdinfo": medium.showmediuminfo,
    "snapshot": snapshot.snapshot,
    "startvm": control.startvm,
    "controlvm": control.controlvm,
    "discardstate": control.discardstate,
    "setextradata": properties.setextradata,
    "getextradata": properties.getextradata,
    "guestproperty": properties.guestproperty,
    "setproperty": properties.setproperty,
    "bandwidthctl": properties.bandwidthctl,
    "export": appliance.export,
    "import": appliance.import_appliance,
}
