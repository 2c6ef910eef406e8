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

"""The config drive: Nova's metadata as an ISO 9660 image on a DVD drive.

When Nova asks for one (the server's config_drive, the image's
img_config_drive=mandatory or [DEFAULT] force_config_drive), spawn calls
:meth:`ConfigDrive.create`, which builds ``<vm folder>/configdrive.iso``
with Nova's own ConfigDriveBuilder and InstanceMetadata (labelled
``config-2``: cloud-init reads metadata, user data, keys and network
config from it), then :meth:`ConfigDrive.attach` (or puts
:meth:`ConfigDrive.attach_args` into its own ``storageattach``). The image
lives in the VM folder, so destroy removes it with the folder.

Rescue builds a second one, ``<vm folder>/configdrive-rescue.iso``
(``create(..., rescue=True)``), carrying the rescue password as
``admin_pass``, as Nova's libvirt driver builds ``disk.config.rescue``.

Nova's builder runs [DEFAULT] mkisofs_cmd (genisoimage) on the compute
host.
"""


from oslo_concurrency import processutils
from oslo_log import log as logging

from nova.api.metadata import base as instance_metadata
import nova.conf
from nova import exception
from nova.i18n import _
from nova.virt import configdrive
from nova.virt.virtualbox import pathutils

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF


class ConfigDriveBuildFailed(exception.NovaException):
    msg_fmt = _("Could not build the config drive of instance "
                "%(instance_uuid)s with [DEFAULT] mkisofs_cmd %(command)r: "
                "%(reason)s. Install genisoimage (Debian/Ubuntu: apt-get "
                "install genisoimage) or point mkisofs_cmd at it.")


class ConfigDrive(object):

    def __init__(self, vbox, path_utils=None):
        self._vbox = vbox
        self._pathutils = path_utils or pathutils.PathUtils()

    @staticmethod
    def required(instance):
        """Whether Nova asks for a config drive for ``instance``."""
        return bool(configdrive.required_by(instance))

    def path(self, instance):
        return self._pathutils.config_drive_path(instance)

    def rescue_path(self, instance):
        return self._pathutils.rescue_config_drive_path(instance)

    def create(self, context, instance, injected_files, admin_password,
               network_info, rescue=False):
        """Build the instance's config drive if Nova asks for one.

        The admin password goes into the ISO's metadata only: never into a
        log line or a command line.

        :param rescue: build the rescue boot's config drive (at
            :meth:`rescue_path`; ``admin_password`` is then the rescue
            password) instead of the instance's own.
        :returns: the ISO's path, or None when no config drive is needed.
        :raises ConfigDriveUnsupportedFormat: [DEFAULT] config_drive_format
            is not iso9660 (a vfat image needs a loop mount as root).
        :raises ConfigDriveBuildFailed: the ISO tool failed or is missing.
        """
        if not self.required(instance):
            return None
        if CONF.config_drive_format != 'iso9660':
            raise exception.ConfigDriveUnsupportedFormat(
                format=CONF.config_drive_format)
        extra_md = {}
        if admin_password:
            extra_md['admin_pass'] = admin_password
        inst_md = instance_metadata.InstanceMetadata(
            instance, content=injected_files, extra_md=extra_md,
            network_info=network_info)
        path = self.rescue_path(instance) if rescue else self.path(instance)
        self._pathutils.ensure_dir(self._pathutils.instance_dir(instance))
        LOG.debug('Creating the config drive at %s', path, instance=instance)
        try:
            with configdrive.ConfigDriveBuilder(instance_md=inst_md) as cdb:
                cdb.make_drive(path)
        except (processutils.ProcessExecutionError, OSError) as err:
            self._pathutils.remove_file(path)
            reason = getattr(err, 'stderr', None) or err
            raise ConfigDriveBuildFailed(instance_uuid=instance.uuid,
                                         command=CONF.mkisofs_cmd,
                                         reason=str(reason).strip())
        return path

    def attach_args(self, instance, controller, port, device=0, path=None):
        """``storageattach`` arguments putting the ISO in a DVD drive."""
        return ['storageattach', instance.uuid,
                '--storagectl', controller,
                '--port', str(port), '--device', str(device),
                '--type', 'dvddrive',
                '--medium', path or self.path(instance)]

    def attach(self, instance, controller, port, device=0, path=None):
        """Attach the config drive as a DVD."""
        self._vbox.run(*self.attach_args(instance, controller, port, device,
                                         path))
