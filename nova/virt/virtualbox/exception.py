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

"""Errors of the VirtualBox driver.

Every failed VBoxManage call becomes one of these, carrying what VirtualBox
said (its messages, result-code name and exit status). They are Nova
exceptions, so Nova reports their message to the operator as is.
"""

from nova import exception
from nova.i18n import _


class VBoxError(exception.NovaException):
    msg_fmt = _("VirtualBox error: %(reason)s")


class VBoxManageError(VBoxError):
    """VBoxManage ran and reported a failure."""

    msg_fmt = _("VBoxManage %(command)s failed (exit %(exit_code)s"
                "%(code_text)s): %(reason)s")

    def __init__(self, message=None, command='', exit_code=None,
                 code_name=None, messages=(), stderr='', stdout='',
                 **kwargs):
        self.command = command
        self.exit_code = exit_code
        self.code_name = code_name
        self.messages = list(messages)
        self.stderr = stderr
        # What VBoxManage printed besides: a listing that failed for one
        # object (list vms --long and an inaccessible VM) has the others.
        self.stdout = stdout
        reason = '; '.join(self.messages) or stderr.strip() or _(
            'no error message')
        code_text = ', %s' % code_name if code_name else ''
        super().__init__(message, command=command, exit_code=exit_code,
                         code_text=code_text, reason=reason, **kwargs)


class VBoxTransientError(VBoxManageError):
    """A failure that goes away by itself: a session lock, a busy object."""


class VBoxObjectNotFound(VBoxManageError):
    """The VM, medium or other object named does not exist."""


class VBoxInvalidVMState(VBoxManageError):
    """The VM is not in a state that allows the operation."""


class VBoxObjectInUse(VBoxManageError):
    """The object is used by another one (a medium with children...)."""


class VBoxAlreadyExists(VBoxManageError):
    """The VM or file to be created exists already."""


class VBoxSyntaxError(VBoxManageError):
    """VBoxManage did not accept the command line (exit status 2)."""


class VBoxManageTimeout(VBoxError):
    msg_fmt = _("VBoxManage %(command)s did not finish within %(timeout)s "
                "seconds and was killed. If VirtualBox is busy (a large "
                "disk copy), raise [virtualbox] vboxmanage_timeout or "
                "vboxmanage_long_timeout; otherwise check that VBoxSVC is "
                "not hung.")


class VBoxManageNotFound(VBoxError):
    msg_fmt = _("The VBoxManage command %(command)r could not be run: "
                "%(reason)s. Install VirtualBox %(min_version)s or newer, "
                "or set [virtualbox] vboxmanage_cmd to the full path of "
                "VBoxManage (or of the vboxmanage-sim simulator).")


class VBoxVersionUnsupported(VBoxError):
    msg_fmt = _("VirtualBox %(version)s is too old: this driver needs "
                "%(min_version)s or newer. Upgrade VirtualBox.")


class VBoxOutputError(VBoxError):
    msg_fmt = _("Could not read the output of VBoxManage %(command)s: "
                "%(reason)s")


class VBoxConfigError(VBoxError):
    msg_fmt = _("Invalid VirtualBox driver configuration: %(reason)s")
