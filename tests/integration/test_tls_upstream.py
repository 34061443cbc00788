"""An https upstream: dynaseal verifies the certificate chain (system store plus
upstream.ca_file) and the host name, sends SNI, and answers an unverifiable upstream with a
retryable 503 that says why.  The upstream is nginx terminating TLS in front of dynalite, with a
certificate authority made by the test."""
import os
import subprocess
import unittest

import peers as h


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(d):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", "/CN=dynaseal test CA", cwd=d)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=localhost", cwd=d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf", cwd=d)


class TlsUpstreamTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ddb = h.start_dynalite()
        try:
            cls.dir = cls.ddb.workdir
            make_pki(cls.dir)
            port = h.free_port()
            conf = os.path.join(cls.dir, "nginx.conf")
            with open(conf, "w") as f:
                f.write("""
daemon off;
worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/nginx-error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %(d)s/body; proxy_temp_path %(d)s/proxy;
  fastcgi_temp_path %(d)s/fcgi; uwsgi_temp_path %(d)s/uwsgi; scgi_temp_path %(d)s/scgi;
  server {
    listen 127.0.0.1:%(port)d ssl;
    ssl_certificate %(d)s/server.pem;
    ssl_certificate_key %(d)s/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      proxy_pass http://127.0.0.1:%(ddb)d;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
""" % {"d": cls.dir, "port": port, "ddb": cls.ddb.port})
            cls.nginx = h.Server("nginx", ["nginx", "-p", cls.dir, "-c", conf], port)
            cls.port = port
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in ("nginx", "ddb"):
            if hasattr(cls, s):
                getattr(cls, s).stop()

    def proxy(self, endpoint, ca=True):
        up = {"endpoint": endpoint}
        if ca:
            up["ca_file"] = os.path.join(self.dir, "ca.pem")
        return h.start_dynaseal(endpoint, config={"upstream": up})

    def test_verified_tls_upstream(self):
        p = self.proxy("https://localhost:%d" % self.port)
        try:
            d = h.boto3_client(p.url)
            d.create_table(TableName="tls-t", BillingMode="PAY_PER_REQUEST",
                           AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                           KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
            self.assertIn("tls-t", d.list_tables()["TableNames"])
            # Several calls share one pooled TLS connection per worker.
            for _ in range(5):
                d.list_tables()
        finally:
            p.stop()

    def test_unknown_authority_is_refused(self):
        p = self.proxy("https://localhost:%d" % self.port, ca=False)
        try:
            d = h.boto3_client(p.url)
            with self.assertRaises(d.exceptions.ClientError) as cm:
                d.list_tables()
            r = cm.exception.response
            self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 503)
            self.assertIn("certificate verify failed", r["Error"]["Message"])
        finally:
            p.stop()

    def test_host_name_mismatch_is_refused(self):
        # The certificate is for "localhost"; connecting by address must not be accepted.
        p = self.proxy("https://127.0.0.1:%d" % self.port)
        try:
            d = h.boto3_client(p.url)
            with self.assertRaises(d.exceptions.ClientError) as cm:
                d.list_tables()
            self.assertIn("TLS", cm.exception.response["Error"]["Message"])
        finally:
            p.stop()


if __name__ == "__main__":
    unittest.main()
