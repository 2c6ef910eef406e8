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

"""RTGetOpt-like argument reading: ``--opt value`` and ``--opt=value`` both
work."""

from vboxsim import errors


class Args:
    def __init__(self, argv):
        self.items = []
        for arg in argv:
            if arg.startswith("--") and "=" in arg:
                name, value = arg.split("=", 1)
                self.items.append(name)
                self.items.append(value)
            else:
                self.items.append(arg)
        self.pos = 0

    def __bool__(self):
        return self.pos < len(self.items)

    def peek(self):
        return self.items[self.pos] if self else None

    def next(self):
        item = self.items[self.pos]
        self.pos += 1
        return item

    def value(self, option):
        if not self:
            raise errors.VBoxError(
                errors.error_lines("Missing argument to '%s'" % option),
                exit_code=2,
            )
        return self.next()

    def rest(self):
        items = self.items[self.pos:]
        self.pos = len(self.items)
        return items


def on_off(value, option):
    lowered = value.lower()
    if lowered in ("on", "true", "yes", "1", "enable", "enabled"):
        return True
    if lowered in ("off", "false", "no", "0", "disable", "disabled"):
        return False
    raise errors.VBoxError(
        errors.error_lines("Invalid %s argument '%s'" % (option, value)),
        exit_code=1,
    )


def parse_size_mb(text):
    """Sizes like 512, 2G, 100M (MB when no suffix)."""
    text = text.strip()
    factors = {"k": 1.0 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024}
    if text and text[-1].lower() in factors:
        return int(float(text[:-1]) * factors[text[-1].lower()])
    return int(text)
