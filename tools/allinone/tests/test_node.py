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

"""tools/allinone/node.py's WSGI servers: a keep-alive connection survives
an application that closes wsgi.input (Glance does, after an upload), so a
request that follows on it - Nova's GET of the image it has just uploaded -
reaches the application instead of getting cheroot's 500.

Needs cheroot (the all-in-one venv):

    .aio/venv/bin/python -m unittest discover -s tools/allinone/tests
"""

import http.client
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def upload_app(environ, start_response):
    """Reads the body and closes it, as Glance's image upload does."""
    body = environ['wsgi.input']
    size = len(body.read())
    body.close()
    out = ('%s %d' % (environ['REQUEST_METHOD'], size)).encode()
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(out)))])
    return [out]


class KeepAliveAfterUploadTest(unittest.TestCase):

    def put_then_get(self, server):
        self.addCleanup(server.stop)
        conn = http.client.HTTPConnection(*server.bind_addr[:2], timeout=10)
        self.addCleanup(conn.close)
        # Chunked, as glanceclient sends an image.
        conn.request('PUT', '/v2/images/x/file',
                     body=iter([b'x' * 65536] * 16), encode_chunked=True)
        put = conn.getresponse()
        self.assertEqual((200, b'PUT 1048576'), (put.status, put.read()))
        conn.request('GET', '/v2/images/x')
        get = conn.getresponse()
        return get.status, get.read()

    def test_get_after_upload_on_the_same_connection(self):
        import node
        self.assertEqual((200, b'GET 0'), self.put_then_get(
            node.start_server('test', '127.0.0.1', 0, upload_app)))

    def test_plain_cheroot_answers_500(self):
        # The control: the failure the wrapper prevents.
        import threading

        from cheroot import wsgi
        server = wsgi.Server(('127.0.0.1', 0), upload_app)
        server.error_log = lambda *args, **kwargs: None  # its traceback
        server.prepare()
        threading.Thread(target=server.serve, daemon=True).start()
        try:
            status, _body = self.put_then_get(server)
        except (http.client.HTTPException, OSError):
            status = 'connection lost'
        self.assertNotEqual(200, status)


if __name__ == '__main__':
    unittest.main()
