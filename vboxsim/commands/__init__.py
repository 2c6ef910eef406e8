# Copyright 2026 The nova-virtualbox authors
#
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""Subcommand handlers: each takes (ctx, argv-after-the-subcommand) and returns
an exit code.

Every VBoxManage call is a new process, so only the module of the command
being run is imported (the CPU of a call is mostly its imports).
"""

import importlib

# subcommand -> (module in vboxsim.commands, function)
_HANDLERS = {
    "list": ("listing", "list_command"),
    "showvminfo": ("vm", "showvminfo"),
    "createvm": ("vm", "createvm"),
    "registervm": ("vm", "registervm"),
    "unregistervm": ("vm", "unregistervm"),
    "clonevm": ("vm", "clonevm"),
    "modifyvm": ("modifyvm", "modifyvm"),
    "storagectl": ("storage", "storagectl"),
    "storageattach": ("storage", "storageattach"),
    "createmedium": ("medium", "createmedium"),
    "createhd": ("medium", "createmedium"),
    "createvdi": ("medium", "createmedium"),
    "clonemedium": ("medium", "clonemedium"),
    "clonehd": ("medium", "clonemedium"),
    "clonevdi": ("medium", "clonemedium"),
    "modifymedium": ("medium", "modifymedium"),
    "modifyhd": ("medium", "modifymedium"),
    "closemedium": ("medium", "closemedium"),
    "showmediuminfo": ("medium", "showmediuminfo"),
    "showhdinfo": ("medium", "showmediuminfo"),
    "convertfromraw": ("medium", "convertfromraw"),
    "snapshot": ("snapshot", "snapshot"),
    "startvm": ("control", "startvm"),
    "controlvm": ("control", "controlvm"),
    "discardstate": ("control", "discardstate"),
    "setextradata": ("properties", "setextradata"),
    "getextradata": ("properties", "getextradata"),
    "guestproperty": ("properties", "guestproperty"),
    "setproperty": ("properties", "setproperty"),
    "bandwidthctl": ("properties", "bandwidthctl"),
    "export": ("appliance", "export"),
    "import": ("appliance", "import_appliance"),
    "dhcpserver": ("network", "dhcpserver"),
    "natnetwork": ("network", "natnetwork"),
}

COMMAND_NAMES = frozenset(_HANDLERS)


def handler(command):
    """The handler of ``command`` (lower case), or None if VBoxManage has
    no such command."""
    entry = _HANDLERS.get(command)
    if entry is None:
        return None
    module = importlib.import_module("vboxsim.commands." + entry[0])
    return getattr(module, entry[1])
