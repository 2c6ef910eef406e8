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

"""The Nova driver's VBoxManage wrapper, imported for the agent.

The agent talks to VirtualBox through the same door as nova-compute
(:mod:`nova.virt.virtualbox.vboxmanage`: argument lists, kill timeouts,
retries of transient failures, errors read from VirtualBox's own lines).
Importing it imports Nova's configuration modules (the package's
``__init__`` loads the driver, and its constants module Nova's objects),
which register Nova's options in oslo.config's global CONF at import time,
where they clash with Neutron's (``DuplicateOptError: duplicate option:
host``). So the import runs with a private ConfigOpts in place of the
global one: Nova's modules keep theirs, Neutron's CONF stays Neutron's. The
wrapper itself reads no global option (the agent passes its settings).

Import this module after Neutron's agent modules, so that libraries both
use are first imported, and bound to the global CONF, by Neutron.
"""

from oslo_config import cfg

_global_conf = cfg.CONF
cfg.CONF = cfg.ConfigOpts()
try:
    from nova.virt.virtualbox import exception as vbox_exc  # noqa: E402
    from nova.virt.virtualbox import parsers  # noqa: E402
    from nova.virt.virtualbox import vboxmanage  # noqa: E402
finally:
    cfg.CONF = _global_conf

__all__ = ['parsers', 'vbox_exc', 'vboxmanage']
