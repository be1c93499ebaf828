"""A tiny SMTP server on localhost for the e-mail tests: enough SMTP for
``smtplib.send_message``; the ``smtp_sink`` fixture keeps each message (headers and body,
as received) in ``.messages`` and each envelope's recipients in ``.recipients``."""
import socketserver
import threading
from email import message_from_string
from email.policy import default

import pytest


def parsed(message: str):
    """A received message as an ``EmailMessage`` (headers decoded, ``get_content()``)."""
    return message_from_string(message, policy=default)


class SMTPHandler(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        self.reply("220 sink ready")
        envelope = []
        while line := self.rfile.readline():
            text = line.decode(errors="replace").strip()
            command = text.upper()
            if command.startswith(("EHLO", "HELO")):
                self.reply("250 sink")
            elif command.startswith("RCPT"):
                envelope.append(text.split(":", 1)[1].strip().strip("<>"))
                self.reply("250 ok")
            elif command.startswith(("MAIL", "RSET", "NOOP")):
                self.reply("250 ok")
            elif command == "DATA":
                self.reply("354 end with .")
                data = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data.append(chunk)
                self.server.messages.append(b"".join(data).decode())
                self.server.recipients.append(envelope)
                envelope = []
                self.reply("250 queued")
            elif command == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not here")


@pytest.fixture
def smtp_sink():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SMTPHandler)
    server.daemon_threads = True
    server.messages, server.recipients = [], []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


