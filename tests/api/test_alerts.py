"""test_alerts.py - alerts leave the platform: mail through an SMTP relay,
the webhook, retries, and the platform's own troubles.

What: a local SMTP sink (sinks.py) on 127.0.0.1 stands for the relay.
A training that fails after its retries (HEALER_FAULT_INJECT) mails its
owner and the enabled administrators with an address - each once, within
5 s of the failure - as a well-formed message (Date, Message-ID, From, To,
a decoded subject, the job in the text), over STARTTLS when the relay
offers it (a relay whose certificate is not trusted gets nothing, not a
plain-text fall-back, and none either when credentials are set and the
relay offers no STARTTLS); users without an address or disabled are
skipped. An account lock's unlock link reaches the user's mail alone. With the
relay down, the mail is retried with back-off and arrives once the relay
is up, and a slow relay (it holds its greeting) holds up no request: a
login and a health check answer at once meanwhile. The webhook gets the
same event as JSON, retried after a 500. A database another process keeps
locked mails the administrators "the server cannot write to its store or
disk", although the alert cannot be queued in that store; so does a model
file that cannot be written. Bad settings
(a URL of another scheme, a sender without a relay, a credentials file
others can read) stop `healer serve` with a message naming the setting.

How addresses are set: `healer user add NAME --email ADDR` before the
server starts.

Why: alerts are how the seed's "real-time alerts to administrators" reach
people who are not looking at the UI; they must arrive quickly, never
slow a request down, and survive a relay that is down for a while.

Run: python3 tests/api/test_alerts.py [test_name...]
"""
import os
import re
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import sinks  # noqa: E402
from harness import API, check, expect_json  # noqa: E402

# tests/run.py runs this module in two slices side by side (harness.py,
# HEALER_API_SHARD): 14 tests of 3-18 s each take about 2 min under the
# sanitizer on a loaded machine, near the module budget.
SHARDS = 2

SENDER = "healer@example.org"
SMALL = {"rounds": 10, "early_stopping_rounds": 5, "validation_fraction": 0.2}
USERS = (("admin", "admin-pass-1234", True), ("root2", "root2-pass-1234", True),
         ("alice", "alice-pass-1234", False), ("bob", "bob-pass-1234", False))
EMAILS = {"admin": "admin@example.org", "alice": "alice@example.org"}


def alert_server(args, emails=EMAILS, env=None, name="alerts server"):
    """A server with USERS and their addresses, started with `args`."""
    s = harness.Server(users=(), args=args, env=env, name=name)
    for (n, pw, admin) in USERS:
        s.add_user(n, pw, admin, email=emails.get(n))
    return s.start()


def failed_training(c):
    """Uploads a small dataset and trains it under HEALER_FAULT_INJECT
    attempts=fail; returns the failed job and the time it was seen failed."""
    ds = harness.upload_dataset(c, harness.simulate(samples=300, features=6, classes=3, seed=3),
                                name="alerts")
    r = c.post_json(API + "/jobs", {"type": "train", "dataset_id": ds["id"], "algo": "gbdt",
                                     "params": SMALL})
    job = expect_json(r, 202, "POST /jobs")
    done = harness.wait_job(c, job["id"], timeout=60)
    check(done["state"] == "failed", "every attempt fails: the job fails", done)
    return done, time.monotonic()


def check_message(m, to, job):
    """A well-formed alert mail about `job` to `to`."""
    check(m.rcpts == [to], "one recipient per message", m.rcpts)
    check(m.mail_from == "<%s>" % SENDER, "the envelope sender is smtp-from", m.mail_from)
    msg = m.msg
    for h in ("Date", "Message-ID", "From", "To", "Subject", "MIME-Version", "Content-Type"):
        check(msg[h] is not None, "the message has a %s header" % h, m.data[:400])
    check(msg["To"].addresses[0].addr_spec == to, "To is the recipient", str(msg["To"]))
    check(msg["From"].addresses[0].addr_spec == SENDER, "From is smtp-from", str(msg["From"]))
    check(msg["Auto-Submitted"] == "auto-generated", "marked auto-generated (no auto-replies)")
    check(msg["X-Healer-Event"] == "training_failed", "the event's kind is named", msg["X-Healer-Event"])
    check(m.subject == "SystemHealer: a training failed", "the subject says what happened", m.subject)
    check(msg.get_content_type() == "text/plain" and msg.get_content_charset() == "utf-8",
          "plain UTF-8 text", msg["Content-Type"])
    check(b"\r\n" in m.data and b"\n" not in m.data.replace(b"\r\n", b""), "CRLF line ends only")
    check(all(len(line) <= 78 for line in m.data.split(b"\r\n")), "no line longer than 78")
    text = m.text
    check(("job %d " % job["id"]) in text and "made no model after 3 attempts" in text,
          "the text names the job and its attempts", text)
    return text


@harness.timeout(60)
def test_account_lock_mails_the_user_a_working_unlock_link():
    """Five wrong passwords lock alice: within 5 s of the fifth she and the
    administrator with an address are mailed; her mail's link unlocks the
    account once, and her password works again at once."""
    with sinks.SmtpSink() as sink:
        s = alert_server(["--smtp-url", sink.url, "--smtp-from", SENDER,
                          "--public-url", "https://healer.example.com"])
        try:
            c = s.client()
            for i in range(5):
                r = c.post_json(API + "/auth/login", {"username": "alice", "password": "wrong-%d-pass" % i})
                check(r.status == 401, "a wrong password is refused", r)
            fifth = time.monotonic()
            mails = sink.wait_mails(2, 5.0)
            late = time.monotonic() - fifth
            print("    the lock's mails arrived %.2f s after the fifth failure" % late)
            by_rcpt = {m.rcpts[0]: m for m in mails}
            check(set(by_rcpt) == {"alice@example.org", "admin@example.org"},
                  "alice and the administrator are mailed within 5 s (%.1f s)" % late, mails)
            for m in mails:
                check(m.msg["X-Healer-Event"] == "account_locked", "the event is named", m.msg["X-Healer-Event"])
                check("'alice' locked" in m.subject, "the subject names the account", m.subject)
            link = re.search(r"https://healer\.example\.com/#/unlock\?token=([A-Za-z0-9_-]{43})",
                             by_rcpt["alice@example.org"].text)
            check(link, "alice's mail carries the unlock link", by_rcpt["alice@example.org"].text)
            r = c.post_json(API + "/auth/login", {"username": "alice", "password": "alice-pass-1234"})
            check(r.status == 401, "the right password is refused while locked", r)
            r = s.client().post_json(API + "/auth/unlock", {"token": link.group(1)})
            expect_json(r, 200, "the link unlocks")
            r = s.client().post_json(API + "/auth/unlock", {"token": link.group(1)})
            check(r.status == 410, "the link works once", r)
            s.client().login_as("alice")
        finally:
            s.close()


def lock_alice(c):
    for i in range(5):
        r = c.post_json(API + "/auth/login", {"username": "alice", "password": "wrong-%d-pass" % i})
        check(r.status == 401, "a wrong password is refused", r)


@harness.timeout(60)
def test_unlock_token_reaches_only_the_user():
    """The lock's one-time link goes to alice alone: the administrator's
    mail and the webhook's event say a link was mailed but carry no token,
    and once sent no outbox row keeps it (alice's body is wiped)."""
    with sinks.SmtpSink() as sink, sinks.HookSink() as hook:
        s = alert_server(["--smtp-url", sink.url, "--smtp-from", SENDER, "--webhook-url", hook.url,
                          "--public-url", "https://healer.example.com"])
        try:
            lock_alice(s.client())
            by_rcpt = {m.rcpts[0]: m for m in sink.wait_mails(2, 5.0)}
            posts = hook.wait_posts(1, 5.0)
            check("token=" in by_rcpt["alice@example.org"].text, "alice's mail has the link")
            admin = by_rcpt["admin@example.org"].text
            check("token=" not in admin and "an unlock link was mailed to the user" in admin,
                  "the administrator's mail says a link was mailed, without it", admin)
            body = sinks.json_of(posts[0])
            check(body["event"] == "account_locked" and "token=" not in body["body"] and
                  "an unlock link was mailed to the user" in body["body"],
                  "the webhook's event has no token", body)
            time.sleep(0.5)
            check(len(hook.requests) == 1, "one webhook event", hook.requests)
            db = sqlite3.connect(os.path.join(s.data_dir, "healer.db"), timeout=10)
            try:
                def all_sent():
                    rows = db.execute("SELECT channel, recipient, body, state FROM outbox").fetchall()
                    return rows if len(rows) == 3 and all(r[3] == "sent" for r in rows) else None
                rows = harness.wait_until(all_sent, 5, "the three rows recorded as sent")
            finally:
                db.close()
            check(not [r for r in rows if "token=" in r[2]],
                  "no outbox row holds the token once sent (alice's wiped)", rows)
        finally:
            s.close()


@harness.timeout(60)
def test_lock_without_relay_says_no_link_was_mailed():
    """With a webhook but no mail relay, the lock's event says no unlock
    link was mailed (alice has an address, but nothing can carry it)."""
    with sinks.HookSink() as hook:
        s = alert_server(["--webhook-url", hook.url])
        try:
            lock_alice(s.client())
            body = sinks.json_of(hook.wait_posts(1, 5.0)[0])
            check("no mail relay is configured, so no unlock link was mailed" in body["body"] and
                  "token=" not in body["body"], "the event says no link left", body)
        finally:
            s.close()


@harness.timeout(60)
def test_credentials_never_cross_in_clear():
    """A relay that offers AUTH but no STARTTLS: with a credentials file
    nothing is sent (no login, no mail) and the log says why; without
    credentials, a relay on the loopback still gets the mail in clear."""
    creds = os.path.join(harness.tmp_root(), "smtp-creds-clear-%d" % os.getpid())
    with open(creds, "w") as f:
        f.write("mailer:secret\n")
    os.chmod(creds, 0o600)
    try:
        with sinks.SmtpSink(auth=True) as sink:
            s = alert_server(["--smtp-url", sink.url, "--smtp-from", SENDER,
                              "--smtp-credentials-file", creds])
            try:
                lock_alice(s.client())
                harness.wait_until(lambda: "offers no STARTTLS" in s.stderr_text(), 10,
                                   "the log says the relay offers no STARTTLS")
                check(sink.auths == [] and sink.mails == [], "no login and no mail in clear",
                      sink.auths, sink.mails)
                check("TLS is required to send the credentials" in s.stderr_text(), "and why")
            finally:
                s.close()
        with sinks.SmtpSink(auth=True) as sink:
            s = alert_server(["--smtp-url", sink.url, "--smtp-from", SENDER])
            try:
                lock_alice(s.client())
                mails = sink.wait_mails(2, 5.0)
                check(len(mails) == 2 and not mails[0].tls, "a loopback relay without login gets it", mails)
            finally:
                s.close()
    finally:
        os.unlink(creds)


@harness.timeout(60)
def test_mail_without_public_url_warns():
    """With a mail relay and no public-url, a server on the loopback (as
    behind nginx) warns at start that mailed links point at the listen
    address; with public-url set it does not."""
    for (extra, warned) in (([], True), (["--public-url", "https://healer.example.com"], False)):
        s = alert_server(["--smtp-url", "smtp://127.0.0.1:25", "--smtp-from", SENDER] + extra)
        try:
            log = s.stderr_text()
            check(("public-url is not set: links in mails" in log) == warned,
                  "warned" if warned else "not warned", extra, log[-1500:])
        finally:
            s.close()


@harness.timeout(60)
def test_email_change_tells_the_former_address():
    """Alice changing her address, then an administrator changing it
    again, each mail the address being replaced (not the new one)."""
    with sinks.SmtpSink() as sink:
        s = alert_server(["--smtp-url", sink.url, "--smtp-from", SENDER])
        try:
            alice = s.client().login_as("alice")
            r = alice.put_json(API + "/auth/me/email", {"email": "alice2@example.org",
                                                        "password": "alice-pass-1234"})
            uid = expect_json(r, 200, "alice changes her address")["user"]["id"]
            m = sink.wait_mails(1, 5.0)
            check(len(m) == 1 and m[0].rcpts == ["alice@example.org"], "the former address is told", m)
            check(m[0].msg["X-Healer-Event"] == "email_changed" and "alice2@example.org" in m[0].text,
                  "naming the new one", m[0].text)
            admin = s.client().login_as("admin")
            expect_json(admin.put_json(API + "/users/%d/email" % uid, {"email": "alice3@example.org"}), 200)
            m = sink.wait_mails(2, 5.0)
            check(len(m) == 2 and m[1].rcpts == ["alice2@example.org"] and
                  "alice3@example.org" in m[1].text and "administrator" in m[1].text,
                  "an administrator's change tells the former address too", m)
        finally:
            s.close()


@harness.timeout(90)
def test_failed_training_mails_owner_and_admins():
    with sinks.SmtpSink(starttls=True) as sink:
        s = alert_server(["--smtp-url", sink.url, "--smtp-from", SENDER,
                          "--smtp-ca-file", sink.cert],
                         env={"HEALER_FAULT_INJECT": "attempts=fail"})
        try:
            # root2 is an administrator without an address: skipped.
            c = s.client().login_as("alice")
            job, failed_at = failed_training(c)
            mails = sink.wait_mails(2, 5.0)
            late = time.monotonic() - failed_at
            print("    both mails arrived %.2f s after the job was seen failed" % late)
            check(len(mails) == 2, "two mails (alice, admin) within 5 s of the failure (%.1f s)" % late,
                  mails)
            by_rcpt = {m.rcpts[0]: m for m in mails}
            check(set(by_rcpt) == {"alice@example.org", "admin@example.org"},
                  "the owner and the administrator with an address", mails)
            check(all(m.tls for m in mails), "STARTTLS was used: the relay offered it", sink.commands)
            text = check_message(by_rcpt["alice@example.org"], "alice@example.org", job)
            check(text.startswith("Hello alice,"), "greets its reader", text)
            check_message(by_rcpt["admin@example.org"], "admin@example.org", job)
            ids = {m.msg["Message-ID"] for m in mails}
            check(len(ids) == 2, "each message has its own Message-ID", ids)
            time.sleep(1.0)
            check(len(sink.mails) == 2, "nothing is sent twice", sink.mails)
            # The in-app notification is still there.
            admin = s.client().login_as("admin")
            notes = harness.list_items(admin, API + "/notifications")
            check([n for n in notes if n["kind"] == "training_failed"], "the admins' notification too", notes)
            log = s.stderr_text()
            check('"alert recipient skipped"' in log and '"no e-mail address"' in log,
                  "an administrator without an address is skipped, and that is logged")
        finally:
            s.close()


def relay_down_server():
    """A server whose relay is down (nothing listens on its port), and a
    failed training of alice's whose mail has failed once: (port, server,
    job)."""
    port = sinks.reserve_port()
    s = alert_server(["--smtp-url", "smtp://127.0.0.1:%d" % port, "--smtp-from", SENDER],
                     emails={"alice": "alice@example.org"},
                     env={"HEALER_FAULT_INJECT": "attempts=fail"})
    try:
        job, _ = failed_training(s.client().login_as("alice"))
        harness.wait_until(lambda: "alert delivery failed; will retry" in s.stderr_text(), 10,
                           "the failed delivery to be logged")
        check("Couldn't connect to server" in s.stderr_text(), "the log says why it failed")
    except BaseException:
        s.close()
        raise
    return port, s, job


@harness.timeout(60)
def test_untrusted_relay_certificate_is_not_used():
    with sinks.SmtpSink(starttls=True) as sink:
        s = alert_server(["--smtp-url", sink.url, "--smtp-from", SENDER],
                         emails={"alice": "alice@example.org"},
                         env={"HEALER_FAULT_INJECT": "attempts=fail"})
        try:
            failed_training(s.client().login_as("alice"))
            harness.wait_until(lambda: "alert delivery failed; will retry" in s.stderr_text(), 10,
                               "the failed delivery to be logged")
            check("certificate" in s.stderr_text().lower(), "the log names the certificate")
            check(not sink.mails and "STARTTLS" in sink.commands,
                  "no mail went out in plain text after the TLS handshake failed", sink.commands)
        finally:
            s.close()


@harness.timeout(90)
def test_relay_down_then_slow_blocks_nothing_and_delivers():
    port, s, _ = relay_down_server()
    try:
        # The relay comes up, slow: it holds each greeting for 3 s.
        with sinks.SmtpSink(port=port, hold_seconds=3) as sink:
            harness.wait_until(lambda: sink.connections > 0, 15, "the retry to reach the relay")
            t0 = time.monotonic()
            other = s.client().login_as("bob")
            r = other.get(API + "/health")
            took = time.monotonic() - t0
            check(r.status == 200 and took < 1.0,
                  "a login and a health check answer while the relay is slow (%.2f s)" % took)
            check(not sink.mails, "the slow relay has not taken the mail yet")
            mails = sink.wait_mails(1, 10.0)
            check(len(mails) == 1 and mails[0].rcpts == ["alice@example.org"],
                  "the retried mail arrives once the relay answers", mails)
            harness.wait_until(lambda: '"alert delivered"' in s.stderr_text(), 5,
                               "the delivery to be logged")
    finally:
        s.close()


@harness.timeout(90)
def test_queued_mail_survives_a_restart():
    port, s, job = relay_down_server()
    try:
        s.stop()
        with sinks.SmtpSink(port=port) as sink:
            s.start()
            mails = sink.wait_mails(1, 10.0)
            check(len(mails) == 1 and ("job %d " % job["id"]) in mails[0].text,
                  "the mail queued before the stop is delivered after the start", mails)
            time.sleep(1.0)
            check(len(sink.mails) == 1, "and only once", sink.mails)
    finally:
        s.close()


@harness.timeout(90)
def test_webhook_gets_the_event_and_is_retried():
    with sinks.HookSink(statuses=[500]) as hook:
        s = alert_server(["--webhook-url", hook.url], env={"HEALER_FAULT_INJECT": "attempts=fail"})
        try:
            c = s.client().login_as("alice")
            job, _ = failed_training(c)
            posts = hook.wait_posts(2, 10.0)
            check(len(posts) == 2 and [p["status"] for p in posts] == [500, 204],
                  "a 500 is retried, the retry delivered", posts)
            p = posts[1]
            check(p["path"] == "/hooks/healer" and
                  p["headers"].get("Content-Type") == "application/json", "a JSON POST to the URL", p)
            body = sinks.json_of(p)
            check(set(body) == {"event", "subject", "body", "user", "at"}, "the documented fields", body)
            check(body["event"] == "training_failed" and body["user"] == "alice" and
                  body["subject"] == "SystemHealer: a training failed" and
                  ("job %d " % job["id"]) in body["body"], "the event, its user and text", body)
            check(len(body["at"]) == 20 and body["at"].endswith("Z"), "an RFC 3339 UTC time", body)
            check(sinks.json_of(posts[0]) == body, "the retry sends the same event")
            time.sleep(1.0)
            check(len(hook.requests) == 2, "once delivered, not again", hook.requests)
        finally:
            s.close()


@harness.timeout(60)
def test_locked_store_mails_the_admins():
    with sinks.SmtpSink() as sink:
        s = alert_server(["--smtp-url", sink.url, "--smtp-from", SENDER])
        try:
            db = sqlite3.connect(os.path.join(s.data_dir, "healer.db"), timeout=10, isolation_level=None)
            db.execute("BEGIN EXCLUSIVE")
            t0 = time.monotonic()
            try:
                mails = sink.wait_mails(1, 25.0)
            finally:
                db.execute("ROLLBACK")
                db.close()
            check(len(mails) == 1 and mails[0].rcpts == ["admin@example.org"],
                  "the administrator is mailed, although the store cannot queue it", mails)
            print("    mailed %.1f s after the database was locked" % (mails[0].at - t0))
            check(mails[0].subject == "SystemHealer: the server cannot write to its store or disk",
                  "the subject says what is wrong", mails[0].subject)
            check("claiming a job" in mails[0].text and "database is locked" in mails[0].text,
                  "the text says what failed and why", mails[0].text)
            check('"the store cannot queue an alert; it waits in memory"' in s.stderr_text(),
                  "the fallback is logged")
            time.sleep(2.0)
            check(len(sink.mails) == 1, "one alert per kind per 10 minutes", sink.mails)
        finally:
            s.close()


@harness.timeout(60)
def test_unwritable_disk_mails_the_admins():
    with sinks.SmtpSink() as sink:
        s = harness.Server(users=(), args=["--smtp-url", sink.url, "--smtp-from", SENDER],
                           name="unwritable model files")
        for (n, pw, admin) in USERS:
            s.add_user(n, pw, admin, email=EMAILS.get(n))
        # Where models' files go is a plain file: no model can be written.
        os.makedirs(os.path.join(s.data_dir, "blobs"), mode=0o700, exist_ok=True)
        open(os.path.join(s.data_dir, "blobs", "model"), "w").close()
        s.start()
        try:
            c = s.client().login_as("bob")  # no address: only the admin is mailed
            ds = harness.upload_dataset(c, harness.simulate(samples=300, features=6, classes=3, seed=4))
            job = expect_json(c.post_json(API + "/jobs", {"type": "train", "dataset_id": ds["id"],
                                                           "algo": "gbdt", "params": SMALL}),
                              202, "POST /jobs")
            done = harness.wait_job(c, job["id"], timeout=60)
            check(done["state"] == "failed", "a model that cannot be stored fails its job", done)
            mails = sink.wait_mails(2, 5.0)
            subjects = sorted(m.subject for m in mails)
            check("SystemHealer: the server cannot write to its store or disk" in subjects,
                  "the admin hears that the disk cannot be written", subjects)
            disk = [m for m in mails if m.subject.endswith("store or disk")][0]
            check(disk.rcpts == ["admin@example.org"] and "writing a model's file" in disk.text,
                  "to the admin, saying what could not be written", disk.text)
        finally:
            s.close()


def refused(args, want, files=None):
    s = harness.Server(users=(), args=args, name="refused settings")
    try:
        s.start(wait=False)
        rc = s.proc.wait(30)
        err = s.stderr_text() + s.stdout_text()
        check(rc != 0, "healer serve refuses %s" % " ".join(args), rc)
        check(want in err, "the message says %r" % want, err)
    finally:
        s.close()


@harness.timeout(60)
def test_bad_settings_stop_the_server():
    refused(["--smtp-url", "ftp://127.0.0.1:25", "--smtp-from", SENDER],
            "smtp-url: expected smtp://HOST[:PORT] or smtps://HOST[:PORT]")
    refused(["--smtp-url", "smtp://127.0.0.1:25"], "smtp-from: the sender's address is required")
    refused(["--smtp-url", "smtp://127.0.0.1:25", "--smtp-from", "healer"],
            "smtp-from: expected the sender's address")
    refused(["--smtp-from", SENDER], "smtp-from is set but smtp-url is not")
    refused(["--webhook-url", "file:///etc/passwd"], "webhook-url: expected")
    creds = os.path.join(harness.tmp_root(), "smtp-creds-%d" % os.getpid())
    with open(creds, "w") as f:
        f.write("mailer:secret\n")
    try:
        os.chmod(creds, 0o644)
        refused(["--smtp-url", "smtp://127.0.0.1:25", "--smtp-from", SENDER,
                 "--smtp-credentials-file", creds], "group or others may read it (mode 0644)")
        os.chmod(creds, 0o600)
        with open(creds, "w") as f:
            f.write("no-colon\n")
        refused(["--smtp-url", "smtp://127.0.0.1:25", "--smtp-from", SENDER,
                 "--smtp-credentials-file", creds], "expected USER:PASSWORD")
    finally:
        os.unlink(creds)
    refused(["--smtp-url", "smtp://127.0.0.1:25", "--smtp-from", SENDER,
             "--smtp-credentials-file", "/nonexistent/creds"], "No such file")
    refused(["--smtp-ca-file", "/nonexistent/ca.pem"], "smtp-ca-file is set but smtp-url is not")
    refused(["--smtp-url", "smtp://127.0.0.1:25", "--smtp-from", SENDER,
             "--smtp-ca-file", "/nonexistent/ca.pem"], "smtp-ca-file /nonexistent/ca.pem: No such file")
    refused(["--alert-retry-max", "0"], "alert-retry-max: expected a whole number in 1..100")


if __name__ == "__main__":
    harness.main(globals())
