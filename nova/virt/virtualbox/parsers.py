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

"""Readers of VBoxManage's output formats.

Each parser turns the text one VBoxManage query prints into Python values;
the query methods of :class:`~nova.virt.virtualbox.vboxmanage.VBoxManage`
and the ops modules that run a query of their own call them. They skip the
wrapper's WARNING block and are tested on verbatim transcripts of
VirtualBox 7.2 and public captures of older releases.
"""

import re

from nova.virt.virtualbox import exception as vbox_exc


def strip_wrapper_warning(text):
    """Drop the WARNING block(s) printed on stdout before the real output:
    Debian's wrapper warns that /dev/vboxdrv is missing, older releases that
    the module is not loaded or that LOGNAME does not match the user. A block
    is a ``WARNING:`` line and the indented or blank lines after it."""
    if not text.startswith('WARNING:'):
        return text
    lines = text.splitlines(True)
    index = 0
    while index < len(lines) and lines[index].startswith('WARNING:'):
        index += 1
        while index < len(lines) and (not lines[index].strip() or
                                      lines[index][0] in ' \t'):
            index += 1
    return ''.join(lines[index:])


def parse_version(text):
    """``--version`` output -> ((major, minor, build), full string).

    Accepts vendor suffixes such as ``7.2.22_Debianr175245`` or
    ``6.1.50_Ubuntur161033`` and the wrapper's WARNING block.
    """
    lines = [line.strip() for line in strip_wrapper_warning(text).splitlines()
             if line.strip()]
    for line in reversed(lines):
        match = re.match(r'^(\d+)\.(\d+)\.(\d+)', line)
        if match:
            return tuple(int(n) for n in match.groups()), line
    raise vbox_exc.VBoxOutputError(command='--version',
                                   reason='no version in %r' % text[:200])


def _read_quoted(text, pos):
    """Read a "quoted" string starting at text[pos] == '"'.

    Returns (value, position after the closing quote), or (None, pos) when
    the closing quote is not in ``text``. Only \\" and \\\\ are escapes, as
    in VBoxManage's outputMachineReadableString.
    """
    chars = []
    i = pos + 1
    while i < len(text):
        char = text[i]
        if char == '\\' and i + 1 < len(text) and text[i + 1] in '"\\':
            chars.append(text[i + 1])
            i += 2
            continue
        if char == '"':
            return ''.join(chars), i + 1
        chars.append(char)
        i += 1
    return None, pos


def _bare_value(text):
    if re.match(r'^-?\d+$', text):
        return int(text)
    return text


def parse_machine_readable_pairs(text):
    """``key="value"`` output -> [(key, value)] in order, repeats kept.

    Keys may be quoted (``"SATA-0-0"="..."``); values are quoted strings
    (which may span lines) or bare numbers; lines that are not key=value
    (`` rec_screen0``, ``Encryption: ...``) are skipped.
    """
    text = strip_wrapper_warning(text)
    pairs = []
    pos = 0
    length = len(text)
    while pos < length:
        end = text.find('\n', pos)
        end = length if end < 0 else end
        line = text[pos:end]
        next_pos = end + 1
        key = None
        rest_at = None
        if line.startswith('"'):
            key, after = _read_quoted(line, 0)
            if key is not None and line[after:after + 1] == '=':
                rest_at = pos + after + 1
        elif '=' in line and not line.startswith(' '):
            key = line.split('=', 1)[0]
            rest_at = pos + len(key) + 1
        if rest_at is not None:
            if text[rest_at:rest_at + 1] == '"':
                # A quoted value may hold newlines (descriptions): read
                # across lines up to the closing quote.
                value, after = _read_quoted(text, rest_at)
                if value is not None:
                    pairs.append((key, value))
                    line_end = text.find('\n', after)
                    next_pos = length if line_end < 0 else line_end + 1
                else:
                    pairs.append((key, text[rest_at + 1:end]))
            else:
                pairs.append((key, _bare_value(text[rest_at:end].strip())))
        pos = next_pos
    return pairs


def parse_machine_readable(text):
    """``--machinereadable`` output -> dict; a repeated key keeps its last
    value (use parse_machine_readable_pairs to see every one)."""
    return dict(parse_machine_readable_pairs(text))


_LIST_VMS_RE = re.compile(r'^"(?P<name>.*)" \{(?P<uuid>[0-9a-fA-F-]{36})\}$')


def parse_list_vms(text):
    """``list vms`` / ``list runningvms`` -> [(name, uuid)]."""
    result = []
    for line in strip_wrapper_warning(text).splitlines():
        match = _LIST_VMS_RE.match(line.rstrip())
        if match:
            result.append((match.group('name'), match.group('uuid').lower()))
    return result


def parse_colon_pairs(text):
    """``Key:   value`` lines -> dict (first occurrence wins)."""
    result = {}
    for line in strip_wrapper_warning(text).splitlines():
        key, sep, value = line.partition(':')
        if sep and key.strip() and not key.startswith(' '):
            result.setdefault(key.strip(), value.strip())
    return result


def parse_colon_blocks(text):
    """Blank-line separated ``Key: value`` blocks (list hdds, list
    bridgedifs, ...) -> [dict]."""
    blocks = re.split(r'\n\s*\n', strip_wrapper_warning(text))
    return [parsed for parsed in (parse_colon_pairs(b) for b in blocks)
            if parsed]


_SIZE_UNITS = {'bytes': 1.0 / (1024 * 1024), 'kbytes': 1.0 / 1024,
               'mbytes': 1, 'gbytes': 1024, 'tbytes': 1024 * 1024}


def parse_size_mb(text):
    """"64 MBytes" -> 64 (MiB, rounded up); None when unreadable."""
    match = re.match(r'^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)', text or '')
    if not match:
        return None
    factor = _SIZE_UNITS.get(match.group(2).lower())
    if factor is None:
        return None
    value = float(match.group(1)) * factor
    return int(value) if value == int(value) else int(value) + 1


def parse_medium_info(text):
    """``showmediuminfo`` -> dict with the raw fields plus parsed ones:
    ``capacity_mb``, ``size_on_disk_mb``, ``parent_uuid`` (None for a base),
    ``in_use_by`` ([uuid] of the VMs using it)."""
    info = parse_colon_pairs(text)
    info['capacity_mb'] = parse_size_mb(info.get('Capacity'))
    info['size_on_disk_mb'] = parse_size_mb(info.get('Size on disk'))
    parent = info.get('Parent UUID')
    info['parent_uuid'] = None if parent in (None, 'base') else parent
    info['in_use_by'] = re.findall(r'\(UUID: ([0-9a-fA-F-]{36})\)', text)
    return info


def parse_host_info(text):
    """``list hostinfo`` -> dict with the raw fields plus ``cpus``,
    ``cores``, ``memory_mb``, ``memory_available_mb``, ``cpu_model``,
    ``cpu_mhz``."""
    info = parse_colon_pairs(text)

    def number(key):
        match = re.match(r'^\s*(\d+)', info.get(key, ''))
        return int(match.group(1)) if match else 0

    info['cpus'] = number('Processor online count') or number(
        'Processor count')
    info['cores'] = number('Processor online core count') or number(
        'Processor core count')
    info['memory_mb'] = number('Memory size')
    info['memory_available_mb'] = number('Memory available')
    info['cpu_model'] = info.get('Processor#0 description', '')
    info['cpu_mhz'] = number('Processor#0 speed')
    return info
