"""A local SMTP sink: accepts every message, keeps its Message-Id, recipients and subject.

Only what Odoo's SMTP client needs (HELO/EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), on a
threaded ``socketserver`` bound to 127.0.0.1. Every accepted message is appended as one JSON
line to ``path`` (so a sink restarted, or read by another process, sees all of them).

    sink = SmtpSink(path).start()   # sink.port is the port to give Odoo (--smtp-port)
    ...
    sink.messages()                 # [{"message_id", "to", "subject"}, ...] in arrival order
    sink.stop()

Run alone (``python sink.py --port 2525 --out mails.jsonl``) it serves until interrupted.
"""

import argparse
import email
import email.header
import email.policy
import json
import socketserver
import threading
from pathlib import Path


class _Handler(socketserver.StreamRequestHandler):
    timeout = 120

    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        self.reply("220 ecrm-scale-sink ESMTP")
        mail_from, rcpts = None, []
        while True:
            raw = self.rfile.readline(65536)
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line[:4].upper()
            if verb == "EHLO":
                self.wfile.write(b"250-ecrm-scale-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 104857600\r\n")
                self.wfile.flush()
            elif verb == "HELO":
                self.reply("250 ecrm-scale-sink")
            elif verb == "MAIL":
                mail_from, rcpts = line[10:].strip(), []
                self.reply("250 OK")
            elif verb == "RCPT":
                rcpts.append(line[8:].strip().split(" ")[0].strip("<>"))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                chunks = []
                while True:
                    data = self.rfile.readline(1 << 20)
                    if not data or data in (b".\r\n", b".\n"):
                        break
                    chunks.append(data[1:] if data.startswith(b"..") else data)
                self.server.sink.record(b"".join(chunks), mail_from, rcpts)
                mail_from, rcpts = None, []
                self.reply("250 OK queued")
            elif verb == "RSET":
                mail_from, rcpts = None, []
                self.reply("250 OK")
            elif verb == "NOOP":
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Command not implemented")


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class SmtpSink:
    """The sink; ``port=0`` picks a free port."""

    def __init__(self, path, port=0):
        self.path = Path(path)
        self.path.touch()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.sink = self
        self.port = self._server.server_address[1]
        self._thread = None

    def record(self, data, mail_from, rcpts):
        message = email.message_from_bytes(data, policy=email.policy.compat32)
        entry = {
            "message_id": (message.get("Message-Id") or "").strip(),
            "to": sorted(rcpts),
            "subject": str(email.header.make_header(email.header.decode_header(message.get("Subject") or ""))),
        }
        with self._lock, self.path.open("a") as out:
            out.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def messages(self):
        with self._lock:
            return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever, name="smtp-sink", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--out", default="mails.jsonl")
    args = parser.parse_args()
    sink = SmtpSink(args.out, args.port)
    print(f"SMTP sink on 127.0.0.1:{sink.port}, messages in {args.out}", flush=True)
    try:
        sink._server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
