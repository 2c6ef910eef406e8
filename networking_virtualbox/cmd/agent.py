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

"""neutron-virtualbox-agent's console script.

Selects oslo.service's threading backend before anything imports Neutron's
agent modules (which select eventlet's on import otherwise), as Neutron's
own agents do (neutron.cmd.plugins): the agent loop sleeps in a thread of
its own and the main thread stays free for signals, so SIGTERM stops it.
"""

from oslo_service import backend as oslo_service_backend

oslo_service_backend.init_backend(oslo_service_backend.BackendType.THREADING)


def main():
    from networking_virtualbox.agent import vbox_agent
    vbox_agent.main()
