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

"""No-authentication filter for the Nova and Glance APIs of the all-in-one
cloud.

Nova 34 dropped its own ``noauth2`` strategy: its paste pipeline always has
``authtoken keystonecontext``. The all-in-one pipeline (written by aio.py
from Nova's api-paste.ini) puts this filter in place of ``authtoken``: like
Placement's ``noauth2``, it trusts the token ``USER:PROJECT`` and turns it
into the headers keystonemiddleware would have set, which Nova's own
``keystonecontext`` then reads. The user ``admin`` has the admin role.

There is no authentication at all: anyone who can reach the port is admin.
That is why the all-in-one cloud listens on 127.0.0.1 only.
"""

import webob.dec
import webob.exc


class NoAuth:

    def __init__(self, application):
        self.application = application

    @webob.dec.wsgify
    def __call__(self, req):
        token = req.headers.get('X-Auth-Token')
        if not token:
            return webob.exc.HTTPUnauthorized(
                explanation='Send any token "USER:PROJECT", e.g. '
                            '"admin:admin" (no authentication here).')
        user_id, _sep, project_id = token.partition(':')
        project_id = project_id or user_id
        roles = ['admin', 'member', 'reader'] if user_id == 'admin' \
            else ['member', 'reader']
        for name in ('X-User-Id', 'X-User', 'X-Tenant-Id', 'X-Project-Id',
                     'X-Roles', 'X-Identity-Status', 'X-Service-Catalog'):
            req.headers.pop(name, None)
        req.headers['X-Identity-Status'] = 'Confirmed'
        req.headers['X-User-Id'] = user_id
        req.headers['X-User-Name'] = user_id
        req.headers['X-Project-Id'] = project_id
        req.headers['X-Project-Name'] = project_id
        req.headers['X-Roles'] = ','.join(roles)
        return self.application


def filter_factory(global_conf, **local_conf):
    return NoAuth
