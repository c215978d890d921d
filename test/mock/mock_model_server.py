#!/usr/bin/env python3
"""Deterministic stand-in for the Gemini, OpenAI and Anthropic APIs.

Tests script it with `mock:` directives (see PROTOCOL.md next to this file).
Python standard library only; listens on loopback only.
"""
import argparse
import json
import os
import re
import select
import socket
import threading
import time
import zlib
from email import policy as email_policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIRECTIVE = re.compile(r"mock:([a-z_]+)(?:=(\d+))?((?:,[a-z_]+=\d+)*)")
TURN_HEADER = re.compile(r"^### Turn (\d+)\b", re.MULTILINE)
SESSION_LINE = re.compile(r"^Session: (.*)$", re.MULTILINE)
GEMINI_PATH = re.compile(r"^/v1beta/models/(.+):generateContent$")

GEMINI_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
OPENAI_TYPE = {400: "invalid_request_error", 401: "invalid_request_error", 403: "permission_denied",
               404: "not_found", 429: "rate_limit_exceeded", 500: "server_error", 503: "server_error"}
ANTHROPIC_TYPE = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                  404: "not_found_error", 429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}
TRUNCATED_REASON = {"gemini": "MAX_TOKENS", "openai": "length", "anthropic": "max_tokens"}
DONE_REASON = {"gemini": "STOP", "openai": "stop", "anthropic": "end_turn"}
GEMINI_THOUGHT_TOKENS = 7
LOGGED_STRING_CHARS = 2000


class Directive:
    """`mock:<action>[=<n>][,key=value...]`; no directive means `mock:pairs`."""

    def __init__(self, match):
        self.text = match.group(0) if match else "mock:pairs"
        self.action = match.group(1) if match else "pairs"
        self.n = int(match.group(2)) if match and match.group(2) else None
        self.params = {}
        if match and match.group(3):
            for item in match.group(3).strip(",").split(","):
                key, value = item.split("=")
                self.params[key] = int(value)

    @staticmethod
    def find(model, prompt):
        return Directive(DIRECTIVE.search(model) or DIRECTIVE.search(prompt))


def valid_pairs(turns):
    """Pairs that pass validate_pairs for a trajectory of `turns` turns."""
    if turns < 3:
        return []  # no two non-adjacent turns to cite
    return [
        {"question": "What was done in turn 1 and in turn 3?",
         "answer": "Turn 1 started the task and turn 3 continued it.",
         "supporting_turns": [1, 3], "qa_type": "factoid"},
        {"question": f"How did the session change from turn 1 to turn {turns}?",
         "answer": f"It began at turn 1 and ended at turn {turns}.",
         "supporting_turns": [1, turns], "qa_type": "temporal"},
    ]


PLACEHOLDER = re.compile(r"\[(?:EMAIL|PHONE|IP|CARD|SECRET)_\d+\]")


def placeholder_pair(prompt):
    """A pair quoting the first redaction placeholder of the prompt, citing
    the first turn that shows it and a non-adjacent later turn (one showing
    it too, if any): what a model asked about a redacted log would write."""
    sections = {}
    headers = list(TURN_HEADER.finditer(prompt))
    for i, m in enumerate(headers):
        end = headers[i + 1].start() if i + 1 < len(headers) else len(prompt)
        sections[int(m.group(1))] = prompt[m.start():end]
    for a in sorted(sections):
        found = PLACEHOLDER.search(sections[a])
        if not found:
            continue
        value = found.group(0)
        later = [b for b in sorted(sections) if b >= a + 2]
        if not later:
            return None
        b = next((b for b in later if value in sections[b]), later[0])
        return {"question": f"Which redacted value does turn {a} show?",
                "answer": f'"{value}" (turns {a} and {b}).',
                "supporting_turns": [a, b], "qa_type": "factoid"}
    return None


def invalid_pairs(turns):
    """One valid pair, then one pair per rejection reason that a single reply
    can show (over_question_limit needs more valid pairs than the limit)."""
    good = valid_pairs(max(turns, 3))[0]

    def variant(reason, **changes):
        return dict(good, question=f"Which turns show {reason}?", **changes)

    return [
        good,
        "not an object",  # malformed
        variant("too few turns", supporting_turns=[1]),
        variant("a turn out of range", supporting_turns=[1, turns + 5]),
        variant("adjacent turns", supporting_turns=[1, 2]),
        variant("an empty answer", answer=""),
        variant("an unknown type", qa_type="trivia"),
        dict(good),  # duplicate_question
    ]


# --- batch mode ------------------------------------------------------------------
# The vendors' asynchronous batch APIs. A job's state advances one step per
# poll (GET), never by the clock, so tests are deterministic. Results are
# decided once, when a job first reports its final state.

GEMINI_BATCH_CREATE = re.compile(r"^/v1beta/models/(.+):batchGenerateContent$")
GEMINI_BATCH_GET = re.compile(r"^/v1beta/(batches/[A-Za-z0-9_-]+)$")
GEMINI_DOWNLOAD = re.compile(r"^/download/v1beta/(files/[A-Za-z0-9_-]+):download$")
OPENAI_BATCH_GET = re.compile(r"^/v1/batches/([A-Za-z0-9_-]+)$")
OPENAI_BATCH_LIST = re.compile(r"^/v1/(batches)$")
GEMINI_BATCH_LIST = re.compile(r"^/v1beta/(batches)$")
OPENAI_FILE_CONTENT = re.compile(r"^/v1/files/([A-Za-z0-9_-]+)/content$")
ANTHROPIC_BATCH_GET = re.compile(r"^/v1/messages/batches/([A-Za-z0-9_-]+)$")
ANTHROPIC_RESULTS = re.compile(r"^/v1/messages/batches/([A-Za-z0-9_-]+)/results$")
CUSTOM_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
OPENAI_BATCH_ENDPOINT = "/v1/chat/completions"
CREATED_AT = 1767225600  # 2026-01-01T00:00:00Z; times are fixed, not the clock
CREATED_ISO = "2026-01-01T00:00:00Z"
ENDED_ISO = "2026-01-01T01:00:00Z"
EXPIRES_ISO = "2026-01-02T00:00:00Z"
GEMINI_BATCH_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch"
GEMINI_OUTPUT_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput"


class Rejected(Exception):
    """A batch request the vendor refuses with an HTTP error."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class Dropped(Exception):
    """A job created, then its connection dropped before the answer
    (`mock:batch_drop`): the vendor holds a job its submitter never heard of."""


class MockBatch:
    """One job: its requests, how many polls it has seen, its results once final."""

    def __init__(self, vendor, remote_id, model, items, directive):
        self.vendor = vendor
        self.remote_id = remote_id
        self.model = model
        self.items = items          # [{custom_id, prompt, session, directive}]
        self.d = directive          # the job's own directive (mock:batch_*)
        self.polls = 0
        self.as_file = False        # Gemini: requests came as a file
        self.invalid = None         # OpenAI: validation errors, reported at the first poll
        self.results = None         # [(custom_id, outcome)] once final
        self.files = {}             # OpenAI/Gemini: kind -> result file id

    def stage(self):
        """'initial' at create, 'running' for `polls` polls, then 'final'."""
        if self.polls == 0:
            return "initial"
        if self.polls <= self.d.params.get("polls", 1):
            return "running"
        return "final"

    def last_running_poll(self):
        return self.polls == self.d.params.get("polls", 1)

    def fate(self):
        """'ok', 'expire' or 'cancel' for the job as a whole."""
        return {"batch_expire": "expire", "batch_cancel": "cancel"}.get(self.d.action, "ok")


def batch_directives(model, prompt):
    """(job directive, request directive). A `mock:batch_*` directive in the
    model name steers the job; the request's own then comes from its prompt."""
    in_model = DIRECTIVE.search(model)
    if in_model and in_model.group(1).startswith("batch"):
        return Directive(in_model), Directive(DIRECTIVE.search(prompt))
    return Directive(None), Directive.find(model, prompt)


def decide_outcome(server, batch, item):
    """What one request of a job yields: ('ok', reply) | ('error', status, message)
    | ('expired',) -- the online directives, read the batch way."""
    vendor, model = batch.vendor, batch.model
    d, prompt, session = item["directive"], item["prompt"], item["session"]
    if d.action == "status":
        with server.lock:
            counter = (session, d.text)
            server.counters[counter] = server.counters.get(counter, 0) + 1
            seen = server.counters[counter]
        if "times" not in d.params or seen <= d.params["times"]:
            # As online, a 401/403 quotes the key the job was sent with.
            message = key_message(vendor, batch.key) if d.n in (401, 403) else f"mock error {d.n}"
            return ("error", d.n, message)
    elif d.action == "hang":
        return ("expired",)  # never answers: the job ends without it
    turns = max((int(n) for n in TURN_HEADER.findall(prompt)), default=0)
    text, finish = reply_text(vendor, d, turns, prompt)
    return ("ok", model_reply(vendor, model, text, len(prompt) // 4, len(text) // 4, finish))


def decide_results(server, batch):
    """Every request's outcome, once. An expired or cancelled job ran the first
    half of its requests (rounded up); the rest were cut off."""
    if batch.results is not None:
        return batch.results
    fate = batch.fate()
    ran = len(batch.items) if fate == "ok" else (len(batch.items) + 1) // 2
    results = []
    for i, item in enumerate(batch.items):
        if i < ran:
            results.append((item["custom_id"], decide_outcome(server, batch, item)))
        else:
            results.append((item["custom_id"], ("expired",) if fate == "expire" else ("cancelled",)))
    batch.results = results
    return results


def jsonl(docs):
    return "".join(json.dumps(doc) + "\n" for doc in docs).encode()


def openai_result_lines(results):
    """(output lines, error lines); written in reverse request order, as the
    vendor promises no order and clients must match by custom_id."""
    output, errors = [], []
    for i, (custom_id, outcome) in reversed(list(enumerate(results))):
        line = {"id": f"batch_req_{i}", "custom_id": custom_id, "response": None, "error": None}
        if outcome[0] == "ok":
            line["response"] = {"status_code": 200, "request_id": f"req_{i}", "body": outcome[1]}
            output.append(line)
            continue
        if outcome[0] == "error":
            line["response"] = {"status_code": outcome[1], "request_id": f"req_{i}",
                                "body": error_doc("openai", outcome[1], outcome[2])}
        elif outcome[0] == "expired":
            line["error"] = {"code": "batch_expired",
                             "message": "This request could not be executed before the completion window expired."}
        else:
            line["error"] = {"code": "batch_cancelled",
                             "message": "This request was cancelled before it could be executed."}
        errors.append(line)
    return output, errors


def anthropic_result_lines(results):
    lines = []
    for custom_id, outcome in reversed(results):
        if outcome[0] == "ok":
            result = {"type": "succeeded", "message": outcome[1]}
        elif outcome[0] == "error":
            result = {"type": "errored", "error": error_doc("anthropic", outcome[1], outcome[2])}
        elif outcome[0] == "expired":
            result = {"type": "expired"}
        else:
            result = {"type": "canceled"}
        lines.append({"custom_id": custom_id, "result": result})
    return lines


def gemini_result_entries(results):
    """Gemini answers in request order, each keyed by the request's metadata key."""
    entries = []
    for key, outcome in results:
        if outcome[0] == "ok":
            entries.append((key, {"response": outcome[1]}))
        elif outcome[0] == "error":
            entries.append((key, error_doc("gemini", outcome[1], outcome[2])))
        else:
            entries.append((key, {"error": {"code": 504, "status": "DEADLINE_EXCEEDED",
                                            "message": "Deadline expired before operation could complete."}}))
    return entries


class BatchEndpoints:
    """Handler methods for the batch endpoints (mixed into Handler)."""

    def batch_post(self, raw):
        """Serves a batch POST; False when the path is not one."""
        path = self.path
        routes = [("/upload/v1beta/files", "gemini", self.gemini_upload),
                  ("/v1/files", "openai", self.openai_upload),
                  ("/v1/batches", "openai", self.openai_create),
                  ("/v1/messages/batches", "anthropic", self.anthropic_create)]
        handler = next(((v, h) for p, v, h in routes if p == path), None)
        match = GEMINI_BATCH_CREATE.match(path)
        if match:
            handler = ("gemini", lambda raw: self.gemini_create(raw, match.group(1)))
        if handler is None:
            return False
        vendor, serve = handler
        self.serve_batch(vendor, lambda: serve(raw), raw)
        return True

    def batch_get(self):
        path, _, query = self.path.partition("?")
        routes = [(GEMINI_BATCH_LIST, "gemini", lambda _: self.batch_list("gemini")),
                  (OPENAI_BATCH_LIST, "openai", lambda _: self.batch_list("openai")),
                  (GEMINI_BATCH_GET, "gemini", self.gemini_poll),
                  (GEMINI_DOWNLOAD, "gemini", lambda name: self.gemini_download(name, query)),
                  (OPENAI_BATCH_GET, "openai", self.openai_poll),
                  (OPENAI_FILE_CONTENT, "openai", self.file_content),
                  (ANTHROPIC_RESULTS, "anthropic", self.anthropic_results),
                  (ANTHROPIC_BATCH_GET, "anthropic", self.anthropic_poll)]
        for pattern, vendor, serve in routes:
            match = pattern.match(path)
            if match:
                self.serve_batch(vendor, lambda: serve(match.group(1)), b"")
                return True
        return False

    def serve_batch(self, vendor, serve, raw):
        """Checks the key, logs the request, answers it (JSON or JSONL bytes)."""
        entry = {"path": self.path, "method": self.command, "headers": dict(self.headers.items()),
                 "body": self.logged_body(raw), "session": "", "directive": "",
                 "received_ms": self.server.now_ms(), "replied_ms": None}
        with self.server.lock:
            self.server.log.append(entry)
        self.entry = entry
        key = self.api_key(vendor)
        if not key:
            self.send_error_body(vendor, 403 if vendor == "gemini" else 401, missing_key_message(vendor))
        elif vendor == "anthropic" and not self.headers.get("anthropic-version"):
            self.send_error_body(vendor, 400, "anthropic-version: header is required")
        else:
            try:
                with self.server.batch_lock:
                    status, answer = serve()
            except Rejected as e:
                self.send_error_body(vendor, e.status, e.message)
            except Dropped:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            else:
                if isinstance(answer, bytes):
                    self.send_bytes(status, answer, "application/jsonl")
                else:
                    self.send_json(status, answer)
        self.stamp_replied(entry)  # replies that never sent a status line (drop, hang)

    def logged_body(self, raw):
        if not raw:
            return None
        try:
            return abbreviated(json.loads(raw))
        except ValueError:
            return abbreviated(raw.decode("utf-8", "replace"))

    def send_bytes(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    # --- shared ---------------------------------------------------------------
    def multipart(self, raw, subtype):
        """The parts of a multipart/<subtype> body: [(name, filename, content type, bytes)]."""
        content_type = self.headers.get("Content-Type", "")
        if not content_type.startswith(f"multipart/{subtype}"):
            raise Rejected(400, f"expected a multipart/{subtype} body")
        message = BytesParser(policy=email_policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
        if not message.is_multipart():
            raise Rejected(400, "the multipart body has no parts")
        return [(part.get_param("name", header="content-disposition"), part.get_filename(),
                 part.get_content_type(), part.get_payload(decode=True) or b"")
                for part in message.iter_parts()]

    def new_id(self, prefix):
        self.server.next_id += 1
        return f"{prefix}{self.server.next_id}"

    def store_file(self, file_id, content):
        self.server.files[file_id] = content
        return file_id

    def json_body(self, raw):
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            raise Rejected(400, "request body is not JSON")
        if not isinstance(body, dict):
            raise Rejected(400, "request body is not a JSON object")
        return body

    def jsonl_lines(self, content):
        """[(line number, parsed or None)] of a JSONL file."""
        lines = []
        for number, text in enumerate(content.decode("utf-8", "replace").splitlines(), start=1):
            if not text.strip():
                continue
            try:
                lines.append((number, json.loads(text)))
            except ValueError:
                lines.append((number, None))
        return lines

    def new_batch(self, vendor, prefix, model, requests):
        """requests: [(custom_id, request body)] -> the stored MockBatch. A
        `mock:batch_reject=CODE` job is refused here with that status."""
        job_directive = None
        items = []
        for custom_id, body in requests:
            prompt = prompt_text(vendor, body)
            session_match = SESSION_LINE.search(prompt)
            job_directive, item_directive = batch_directives(model, prompt)
            items.append({"custom_id": custom_id, "prompt": prompt, "directive": item_directive,
                          "session": session_match.group(1).strip() if session_match else ""})
        job_directive = job_directive or batch_directives(model, "")[0]
        if job_directive.action == "batch_reject" and (job_directive.n or vendor != "openai"):
            raise Rejected(job_directive.n or 400, "mock rejected the batch")
        batch = MockBatch(vendor, self.new_id(prefix), model, items, job_directive)
        batch.key = self.api_key(vendor)
        self.server.batches[batch.remote_id] = batch
        return batch

    def created(self, batch, answer):
        """The create's answer, unless the job's directive drops it."""
        if batch.d.action == "batch_drop":
            raise Dropped()
        return answer

    def batch_list(self, vendor):
        """The vendor's jobs, newest first, in one page (no paging needed here):
        OpenAI's list of batch objects, Gemini's list of operations."""
        jobs = [b for b in reversed(list(self.server.batches.values())) if b.vendor == vendor]
        if vendor == "gemini":
            return 200, {"operations": [self.gemini_view(b) for b in jobs]}
        return 200, {"object": "list", "data": [self.openai_view(b) for b in jobs],
                     "first_id": jobs[0].remote_id if jobs else None,
                     "last_id": jobs[-1].remote_id if jobs else None, "has_more": False}

    def find_batch(self, remote_id, vendor):
        batch = self.server.batches.get(remote_id)
        if batch is None or batch.vendor != vendor:
            raise Rejected(404, f"batch {remote_id} not found")
        return batch

    def file_content(self, file_id):
        content = self.server.files.get(file_id)
        if content is None:
            raise Rejected(404, f"No such File object: {file_id}")
        return 200, content

    # --- Gemini -------------------------------------------------------------
    def gemini_upload(self, raw):
        if self.headers.get("X-Goog-Upload-Protocol", "") != "multipart":
            raise Rejected(400, "X-Goog-Upload-Protocol must be multipart for this upload")
        parts = self.multipart(raw, "related")
        if len(parts) != 2:
            raise Rejected(400, "a multipart upload has the metadata part and the media part")
        try:
            meta = json.loads(parts[0][3]).get("file") or {}
        except (ValueError, AttributeError):
            raise Rejected(400, "the metadata part is not JSON")
        name = self.store_file(self.new_id("files/mock-file-"), parts[1][3])
        return 200, {"file": {"name": name, "displayName": meta.get("display_name", ""),
                              "mimeType": parts[1][2], "sizeBytes": str(len(parts[1][3])),
                              "createTime": CREATED_ISO, "state": "ACTIVE", "source": "UPLOADED"}}

    def gemini_create(self, raw, model):
        batch_doc = self.json_body(raw).get("batch")
        if not isinstance(batch_doc, dict):
            raise Rejected(400, "batch is required")
        if not (batch_doc.get("display_name") or batch_doc.get("displayName")):
            raise Rejected(400, "batch.display_name is required")
        config = batch_doc.get("input_config") or batch_doc.get("inputConfig") or {}
        inline = (config.get("requests") or {}).get("requests") if isinstance(config, dict) else None
        file_name = config.get("file_name") or config.get("fileName") if isinstance(config, dict) else None
        if (inline is None) == (file_name is None):
            raise Rejected(400, "input_config needs exactly one of requests and file_name")
        if file_name is not None:
            content = self.server.files.get(file_name)
            if content is None:
                raise Rejected(400, f"file {file_name} not found")
            entries = [(doc.get("key"), doc.get("request")) if isinstance(doc, dict) else (None, None)
                       for _, doc in self.jsonl_lines(content)]
        elif isinstance(inline, list):
            entries = [(((e.get("metadata") or {}).get("key")), e.get("request")) if isinstance(e, dict)
                       else (None, None) for e in inline]
        else:
            raise Rejected(400, "input_config.requests.requests must be a list")
        if not entries:
            raise Rejected(400, "the batch has no requests")
        keys = set()
        requests = []
        for position, (key, request) in enumerate(entries):
            if not isinstance(request, dict) or not isinstance(request.get("contents"), list):
                raise Rejected(400, f"request {position} is not a GenerateContentRequest")
            key = key if isinstance(key, str) and key else str(position)
            if key in keys:
                raise Rejected(400, f"request key {key} is repeated")
            keys.add(key)
            requests.append((key, request))
        batch = self.new_batch("gemini", "batches/mock-batch-", model, requests)
        batch.as_file = file_name is not None
        batch.display_name = batch_doc.get("display_name") or batch_doc.get("displayName")
        return self.created(batch, (200, self.gemini_view(batch)))

    def gemini_poll(self, remote_id):
        batch = self.find_batch(remote_id, "gemini")
        batch.polls += 1
        return 200, self.gemini_view(batch)

    def gemini_download(self, name, query):
        if "alt=media" not in query.split("&"):
            raise Rejected(400, "downloads need alt=media")
        return self.file_content(name)

    def gemini_view(self, batch):
        """The batch as a long-running operation, as batches.get returns it."""
        n = len(batch.items)
        stage = batch.stage()
        meta = {"@type": GEMINI_BATCH_TYPE, "model": f"models/{batch.model}", "name": batch.remote_id,
                "displayName": getattr(batch, "display_name", ""), "createTime": CREATED_ISO,
                "updateTime": CREATED_ISO, "state": "BATCH_STATE_PENDING",
                "batchStats": {"requestCount": str(n), "pendingRequestCount": str(n)}}
        operation = {"name": batch.remote_id, "metadata": meta}
        if stage == "initial":
            return operation
        if stage == "running":
            meta["state"] = "BATCH_STATE_RUNNING"
            return operation
        fate = batch.fate()
        operation["done"] = True
        meta["endTime"] = ENDED_ISO
        if fate == "expire":
            meta["state"] = "BATCH_STATE_EXPIRED"
            operation["error"] = {"code": 4, "message": "The batch expired before it finished."}
            return operation
        if fate == "cancel":
            meta["state"] = "BATCH_STATE_CANCELLED"
            operation["error"] = {"code": 1, "message": "The batch was cancelled."}
            return operation
        entries = gemini_result_entries(decide_results(self.server, batch))
        ok = sum(1 for _, entry in entries if "response" in entry)
        meta["state"] = "BATCH_STATE_SUCCEEDED"
        meta["batchStats"] = {"requestCount": str(n), "successfulRequestCount": str(ok),
                              "failedRequestCount": str(n - ok)}
        if batch.as_file:
            if "responses" not in batch.files:
                lines = [dict({"key": key}, **entry) for key, entry in entries]
                batch.files["responses"] = self.store_file(self.new_id("files/mock-responses-"), jsonl(lines))
            output = {"responsesFile": batch.files["responses"]}
        else:
            output = {"inlinedResponses": {"inlinedResponses": [
                dict(entry, metadata={"key": key}) for key, entry in entries]}}
        meta["output"] = output
        operation["response"] = dict({"@type": GEMINI_OUTPUT_TYPE}, **output)
        return operation

    # --- OpenAI -------------------------------------------------------------
    def openai_upload(self, raw):
        parts = self.multipart(raw, "form-data")
        fields = {name: (filename, content) for name, filename, _, content in parts}
        if fields.get("purpose", (None, b""))[1].decode() != "batch":
            raise Rejected(400, "purpose must be batch for a batch input file")
        if "file" not in fields or not fields["file"][0]:
            raise Rejected(400, "the file part is missing")
        filename, content = fields["file"]
        file_id = self.store_file(self.new_id("file-mock"), content)
        return 200, {"id": file_id, "object": "file", "bytes": len(content), "created_at": CREATED_AT,
                     "filename": filename, "purpose": "batch"}

    def openai_create(self, raw):
        body = self.json_body(raw)
        if body.get("endpoint") != OPENAI_BATCH_ENDPOINT:
            raise Rejected(400, f"endpoint must be {OPENAI_BATCH_ENDPOINT} here")
        if body.get("completion_window") != "24h":
            raise Rejected(400, "completion_window must be 24h")
        content = self.server.files.get(str(body.get("input_file_id")))
        if content is None:
            raise Rejected(400, f"input file {body.get('input_file_id')} not found")
        errors, requests, seen, models = [], [], set(), set()
        for number, line in self.jsonl_lines(content):
            problem = None
            if not isinstance(line, dict):
                problem = ("invalid_json_line", "This line is not parseable as valid JSON.")
            elif not isinstance(line.get("custom_id"), str) or not line["custom_id"]:
                problem = ("missing_required_parameter", "custom_id is required")
            elif line["custom_id"] in seen:
                problem = ("duplicate_custom_id", "The custom_id for this request is a duplicate of another request.")
            elif line.get("method") != "POST" or line.get("url") != OPENAI_BATCH_ENDPOINT:
                problem = ("invalid_url", "The URL or method does not match the batch's endpoint.")
            elif not isinstance(line.get("body"), dict) or not line["body"].get("model"):
                problem = ("invalid_request", "body.model is required")
            if problem:
                errors.append({"code": problem[0], "message": problem[1], "param": None, "line": number})
                continue
            seen.add(line["custom_id"])
            models.add(line["body"]["model"])
            requests.append((line["custom_id"], line["body"]))
        if len(models) > 1:
            errors.append({"code": "mismatched_model", "message": "All requests must use the same model.",
                           "param": None, "line": None})
        if not requests and not errors:
            errors.append({"code": "empty_file", "message": "The input file has no requests.",
                           "param": None, "line": None})
        model = next(iter(models), "")
        batch = self.new_batch("openai", "batch_mock", model, requests)
        batch.input_file_id = body["input_file_id"]
        batch.metadata = body.get("metadata")
        if errors or batch.d.action == "batch_reject":
            batch.invalid = errors or [{"code": "invalid_request", "message": "mock rejected the batch",
                                        "param": None, "line": 1}]
        return self.created(batch, (200, self.openai_view(batch)))

    def openai_poll(self, remote_id):
        batch = self.find_batch(remote_id, "openai")
        batch.polls += 1
        return 200, self.openai_view(batch)

    def openai_view(self, batch):
        n = len(batch.items)
        doc = {"id": batch.remote_id, "object": "batch", "endpoint": OPENAI_BATCH_ENDPOINT, "errors": None,
               "input_file_id": getattr(batch, "input_file_id", ""), "completion_window": "24h",
               "status": "validating", "output_file_id": None, "error_file_id": None,
               "created_at": CREATED_AT, "expires_at": CREATED_AT + 86400,
               "request_counts": {"total": n, "completed": 0, "failed": 0},
               "metadata": getattr(batch, "metadata", None)}
        stage = batch.stage()
        if stage == "initial":
            return doc
        if batch.invalid:
            doc.update(status="failed", failed_at=CREATED_AT + 60,
                       errors={"object": "list", "data": batch.invalid},
                       request_counts={"total": 0, "completed": 0, "failed": 0})
            return doc
        fate = batch.fate()
        if stage == "running":
            if fate == "cancel":
                doc["status"] = "cancelling"
            else:
                doc["status"] = "finalizing" if batch.last_running_poll() and batch.polls > 1 else "in_progress"
            return doc
        output, errors = openai_result_lines(decide_results(self.server, batch))
        if output and "output" not in batch.files:
            batch.files["output"] = self.store_file(self.new_id("file-mock-output-"), jsonl(output))
        if errors and "errors" not in batch.files:
            batch.files["errors"] = self.store_file(self.new_id("file-mock-errors-"), jsonl(errors))
        doc.update(status={"ok": "completed", "expire": "expired", "cancel": "cancelled"}[fate],
                   output_file_id=batch.files.get("output"), error_file_id=batch.files.get("errors"),
                   request_counts={"total": n, "completed": len(output), "failed": len(errors)})
        return doc

    # --- Anthropic ----------------------------------------------------------
    def anthropic_create(self, raw):
        requests = self.json_body(raw).get("requests")
        if not isinstance(requests, list) or not requests:
            raise Rejected(400, "requests: a non-empty list is required")
        seen, parsed = set(), []
        for i, request in enumerate(requests):
            if not isinstance(request, dict):
                raise Rejected(400, f"requests.{i}: must be an object")
            custom_id, params = request.get("custom_id"), request.get("params")
            if not isinstance(custom_id, str) or not CUSTOM_ID.match(custom_id):
                raise Rejected(400, f"requests.{i}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'")
            if custom_id in seen:
                raise Rejected(400, f"requests.{i}.custom_id: duplicate custom_id {custom_id}")
            if (not isinstance(params, dict) or not params.get("model") or not isinstance(params.get("messages"), list)
                    or not isinstance(params.get("max_tokens"), int) or params["max_tokens"] < 1):
                raise Rejected(400, f"requests.{i}.params: model, max_tokens >= 1 and messages are required")
            seen.add(custom_id)
            parsed.append((custom_id, params))
        batch = self.new_batch("anthropic", "msgbatch_mock", str(parsed[0][1]["model"]), parsed)
        return self.created(batch, (200, self.anthropic_view(batch)))

    def anthropic_poll(self, remote_id):
        batch = self.find_batch(remote_id, "anthropic")
        batch.polls += 1
        return 200, self.anthropic_view(batch)

    def anthropic_results(self, remote_id):
        batch = self.find_batch(remote_id, "anthropic")
        if batch.stage() != "final":
            raise Rejected(400, f"Batch {remote_id} has not ended")
        return 200, jsonl(anthropic_result_lines(decide_results(self.server, batch)))

    def anthropic_view(self, batch):
        n = len(batch.items)
        doc = {"id": batch.remote_id, "type": "message_batch", "processing_status": "in_progress",
               "request_counts": {"processing": n, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0},
               "ended_at": None, "created_at": CREATED_ISO, "expires_at": EXPIRES_ISO, "archived_at": None,
               "cancel_initiated_at": None, "results_url": None}
        stage = batch.stage()
        if batch.fate() == "cancel" and stage != "initial":
            doc.update(processing_status="canceling", cancel_initiated_at=CREATED_ISO)
        if stage != "final":
            return doc
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        for line in anthropic_result_lines(decide_results(self.server, batch)):
            counts[line["result"]["type"]] += 1
        host = self.headers.get("Host", "127.0.0.1")
        doc.update(processing_status="ended", ended_at=ENDED_ISO, request_counts=counts,
                   results_url=f"http://{host}/v1/messages/batches/{batch.remote_id}/results")
        return doc


# --- eval prompts (trajc_eval): a candidate answering, a judge grading -----
ANSWER_MARK = "reply exactly: unknown"
JUDGE_MARK = "Is the model response correct? Answer yes or no only."
QUESTION_LINE = re.compile(r"^Question: (.*)$", re.MULTILINE)
JUDGE_PARTS = re.compile(r"Correct Answer: (.*?)\n\nModel Response: (.*?)\n\nIs the model", re.DOTALL)
WRONG_ANSWER = "It was the banana service, at turn 99."


def eval_kind(prompt):
    if VERIFIER_MARK in prompt:
        return "verify"
    if JUDGE_MARK in prompt:
        return "judge"
    if ANSWER_MARK in prompt and QUESTION_LINE.search(prompt):
        return "answer"
    return None


def directive_scope(prompt):
    """Where a directive is looked for after the model name: the whole prompt,
    except for eval prompts, where only the question counts (the trajectory
    an answer prompt carries must not script the candidate)."""
    kind = eval_kind(prompt)
    if kind is None:
        return prompt
    if kind == "verify":
        return ""  # the verifier's directive comes from its model name only
    questions = QUESTION_LINE.findall(prompt)
    return questions[-1] if questions else ""


def turn_text(prompt, n):
    """The rendered lines of turn n (without its header), as one line."""
    m = re.search(r"^### Turn %d\b.*?\n(.*?)(?=\n\n### Turn |\n\nQuestion: |\Z)" % n, prompt,
                  re.MULTILINE | re.DOTALL)
    return " ".join(m.group(1).split()) if m else "unknown"


def answer_text(d, prompt):
    """The candidate: mock:answer=N replies with turn N's text (right when the
    reference answer is in turn N), mock:answer_wrong[=N] with a wrong answer,
    mock:answer_none with "unknown". mock:flip in the model name swaps right
    and wrong (answer=N is wrong, answer_wrong=N answers with turn N), so two
    runs differ on known pairs. Without a directive: `"agent" (turn N)` for
    each turn the question names (every turn of "from turn A to turn B"), from
    the turn headers, else "unknown"; mock:forget=P in the model name
    answers "unknown" instead for the P percent of questions whose CRC-32 mod
    100 is below P (the same questions every time)."""
    question = QUESTION_LINE.findall(prompt)[-1]
    flip = d.action == "flip"
    if flip:
        d = Directive(DIRECTIVE.search(question))
    right = (d.action == "answer") != flip
    if d.action in ("answer", "answer_wrong"):
        return turn_text(prompt, d.n or 1) if right and d.n else WRONG_ANSWER
    if d.action == "answer_none":
        return "unknown"
    if d.action == "forget" and zlib.crc32(question.encode()) % 100 < (d.n or 0):
        return "unknown"
    named = sorted({int(n) for n in re.findall(r"\bturns? (\d+)", question)})
    span = re.search(r"from turn (\d+) to turn (\d+)", question)
    if span:
        named = list(range(int(span.group(1)), int(span.group(2)) + 1))
    said = ["%s (turn %d)" % (turn_agent(prompt, n), n) for n in named if turn_agent(prompt, n)]
    return "; ".join(said) or "unknown"


def turn_agent(prompt, n):
    """The agent in turn n's header (`### Turn N (time, agent)`), quoted."""
    m = re.search(r"^### Turn %d \([^,\n]*, ([^\n]*)\)$" % n, prompt, re.MULTILINE)
    return '"%s"' % m.group(1) if m else ""


def words(text):
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def judge_text(d, prompt):
    """The judge: mock:judge_yes / mock:judge_no in the model name force the
    verdict, mock:judge_garbled replies neither; otherwise yes exactly when the
    response contains the correct answer (lower-cased words)."""
    if d.action == "judge_yes":
        return "yes"
    if d.action == "judge_no":
        return "no"
    if d.action == "judge_garbled":
        return "Perhaps; it is hard to say."
    m = JUDGE_PARTS.search(prompt)
    if not m:
        return "no"
    return "yes" if words(m.group(1)) and words(m.group(1)) in words(m.group(2)) else "no"


# --- verifier prompts (trajc.verify = 'model') ------------------------------
VERIFIER_MARK = "You are verifying question-answer pairs"
VERIFIER_PAIR = re.compile(r"^## Pair (\d+)$", re.MULTILINE)
SUPPORTED_REASON = "The cited turns give every part of the answer."


def verdict_text(d, prompt):
    """The verifier: one verdict per `## Pair N` of the prompt, every pair
    supported, needing several turns and not answerable without the log,
    unless the model name says otherwise: mock:verdict_unsupported[=N] (every
    pair, or pair N, not supported), mock:verdict_single (one turn suffices),
    mock:verdict_trivial (answerable without the log), mock:verdict_garbled
    (a verdict whose fields are not booleans), mock:verdict_short (one
    verdict fewer than pairs)."""
    numbers = [int(n) for n in VERIFIER_PAIR.findall(prompt)]
    verdicts = []
    for n in numbers:
        v = {"pair": n, "supported": True, "needs_multiple_turns": True,
             "answerable_without_log": False, "reason": SUPPORTED_REASON}
        if d.action == "verdict_unsupported" and d.n in (None, n):
            v.update(supported=False, reason="The cited turns do not say this.")
        elif d.action == "verdict_single":
            v.update(needs_multiple_turns=False, reason="One turn gives the answer.")
        elif d.action == "verdict_trivial":
            v.update(answerable_without_log=True, reason="Anyone could answer this.")
        elif d.action == "verdict_garbled":
            v.update(supported="yes")
        verdicts.append(v)
    if d.action == "verdict_short":
        verdicts = verdicts[:-1]
    return json.dumps({"verdicts": verdicts})


class Handler(BatchEndpoints, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the vendors do
    # Headers and body go out in separate writes; with Nagle on, the body
    # waits for the client's delayed ACK (~40 ms a reply).
    disable_nagle_algorithm = True
    server_version = "trajc-mock/1"

    entry = None  # the logged request being answered on this connection

    def stamp_replied(self, entry):
        with self.server.lock:
            if entry is not None and entry["replied_ms"] is None:
                entry["replied_ms"] = self.server.now_ms()

    def send_response(self, code, message=None):
        # Stamped as the reply starts to leave, not after it has left: a
        # client may read the log as soon as it has the reply, and must find
        # replied_ms set (it raced with the stamp when it came afterwards).
        self.stamp_replied(self.entry)
        super().send_response(code, message)

    def log_message(self, fmt, *args):  # quiet unless asked
        if self.server.verbose:
            super().log_message(fmt, *args)

    # --- plumbing -------------------------------------------------------
    def send_json(self, status, doc, headers=None):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_raw(self, status, body):
        """Bytes as given: what a broken or hostile server may send."""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def client_gone(self):
        readable, _, _ = select.select([self.connection], [], [], 0)
        if not readable:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def do_GET(self):
        if self.path == "/_requests":
            with self.server.lock:
                snapshot = json.loads(json.dumps(self.server.log))
            self.send_json(200, snapshot)
        elif self.path == "/_batches":
            with self.server.batch_lock:
                summary = {b.remote_id: {"vendor": b.vendor, "model": b.model, "polls": b.polls,
                                         "requests": len(b.items), "as_file": b.as_file,
                                         "label": getattr(b, "display_name", None)
                                         or (getattr(b, "metadata", None) or {}).get("trajc_job"),
                                         "sessions": [item["session"] for item in b.items],
                                         "prompts": [item["prompt"] for item in b.items]}
                           for b in self.server.batches.values()}
            self.send_json(200, summary)
        elif not self.batch_get():
            self.send_json(404, {"error": {"message": "not found"}})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path == "/_reset":
            with self.server.lock:
                self.server.log.clear()
                self.server.counters.clear()
            with self.server.batch_lock:
                self.server.batches.clear()
                self.server.files.clear()
            self.send_json(200, {})
            return
        if self.batch_post(raw):
            return
        vendor, model = self.route()
        if vendor is None:
            self.send_json(404, {"error": {"message": f"no such endpoint {self.path}"}})
            return
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            self.send_json(400, {"error": {"message": "request body is not JSON"}})
            return
        if vendor != "gemini":
            model = str(body.get("model", "")) if isinstance(body, dict) else ""
        prompt = prompt_text(vendor, body)
        session_match = SESSION_LINE.search(prompt)
        session = session_match.group(1).strip() if session_match else ""
        directive = Directive.find(model, directive_scope(prompt))
        # mock:record keeps the whole body, so a test can search all of it.
        logged = body if directive.action == "record" else abbreviated(body)
        entry = {"path": self.path, "headers": dict(self.headers.items()), "body": logged,
                 "session": session, "directive": directive.text,
                 "received_ms": self.server.now_ms(), "replied_ms": None}
        with self.server.lock:
            self.server.log.append(entry)
        self.entry = entry
        if self.server.delay_ms:
            time.sleep(self.server.delay_ms / 1000)
        self.reply(vendor, model, body, prompt, session, directive)
        self.stamp_replied(entry)  # replies that never sent a status line (drop, hang)

    def route(self):
        match = GEMINI_PATH.match(self.path)
        if match:
            return "gemini", match.group(1)
        if self.path == "/v1/chat/completions":
            return "openai", ""
        if self.path == "/v1/messages":
            return "anthropic", ""
        return None, ""

    def api_key(self, vendor):
        if vendor == "gemini":
            return self.headers.get("x-goog-api-key", "")
        if vendor == "openai":
            auth = self.headers.get("Authorization", "")
            return auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
        return self.headers.get("x-api-key", "")

    # --- behaviour ------------------------------------------------------
    def reply(self, vendor, model, body, prompt, session, d):
        key = self.api_key(vendor)
        if not key:
            status = 403 if vendor == "gemini" else 401
            self.send_error_body(vendor, status, missing_key_message(vendor))
            return
        if vendor == "anthropic" and not self.headers.get("anthropic-version"):
            self.send_error_body(vendor, 400, "anthropic-version: header is required")
            return
        if d.action == "latin_error":
            self.send_latin_error()
            return
        turns = max((int(n) for n in TURN_HEADER.findall(prompt)), default=0)
        if d.action == "status":
            with self.server.lock:
                counter = (session, d.text)
                self.server.counters[counter] = self.server.counters.get(counter, 0) + 1
                seen = self.server.counters[counter]
            if "times" not in d.params or seen <= d.params["times"]:
                headers = {}
                if "retry_after" in d.params:
                    headers["Retry-After"] = str(d.params["retry_after"])
                message = key_message(vendor, key) if d.n in (401, 403) else f"mock error {d.n}"
                self.send_error_body(vendor, d.n, message, headers)
                return
        elif d.action == "hang":
            while not self.client_gone():
                time.sleep(0.02)
            self.close_connection = True
            return
        elif d.action == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        elif d.action == "big":
            self.send_big(d.n or 0, d.params.get("chunked", 0) == 1)
            return
        elif d.action == "schema_reject" and vendor == "openai":
            response_format = body.get("response_format") or {}
            if response_format.get("type") == "json_schema":
                self.send_error_body(vendor, 400, "response_format json_schema is not supported")
                return
        elif d.action == "slow":
            time.sleep((d.n or 0) / 1000)
        elif d.action in HOSTILE:
            HOSTILE[d.action](self, vendor, model, prompt, key, turns, d)
            return

        text, finish = reply_text(vendor, d, turns, prompt)
        self.send_json(200, model_reply(vendor, model, text, len(prompt) // 4, len(text) // 4, finish))

    def send_error_body(self, vendor, status, message, headers=None):
        self.send_json(status, error_doc(vendor, status, message), headers)

    def send_big(self, size, chunked):
        """A 200 of `size` bytes: announced by Content-Length, or (chunked=1)
        sent until the connection closes, so the client cannot refuse it early."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if chunked:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(size))
        self.end_headers()
        block = b"x" * 65536
        try:
            while size > 0:
                n = min(size, len(block))
                self.wfile.write(block[:n])
                size -= n
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up, as it should

    def send_latin_error(self):
        """A 400 whose body is neither JSON nor UTF-8 (Latin-1 bytes, no NUL)
        and ends in the first byte of a two-byte character: what a proxy in
        another encoding sends."""
        self.send_raw(400, b"upstream proxy refused: caf\xe9 na\xefve d\xe9j\xe0 vu \xc3")


def reply_text(vendor, d, turns, prompt=""):
    """The model's text and finish reason for directive `d` (online and batch
    alike): QA pairs, or an eval candidate's answer or judge's verdict."""
    finish = DONE_REASON[vendor]
    kind = eval_kind(prompt)
    if kind == "verify" and d.action not in ("non_json", "empty", "truncated"):
        text = verdict_text(d, prompt)
    elif kind == "answer" and d.action not in ("non_json", "empty", "truncated"):
        text = answer_text(d, prompt)
    elif kind == "judge" and d.action not in ("non_json", "empty", "truncated"):
        text = judge_text(d, prompt)
    elif d.action == "invalid":
        text = json.dumps({"pairs": invalid_pairs(turns)})
    elif d.action == "non_json":
        text = "I could not find any good questions in this session, sorry."
    elif d.action == "empty":
        text = ""
    elif d.action == "truncated":
        full = json.dumps({"pairs": valid_pairs(max(turns, 3))})
        text = full[: len(full) // 2]
        finish = TRUNCATED_REASON[vendor]
    elif d.action == "ungrounded":
        # A pair naming an id no cited turn shows: literal verification rejects it.
        made_up = {"question": "Which order id did turn 1 and turn 3 handle?",
                   "answer": "Order ord-99999-x at turns 1 and 3.",
                   "supporting_turns": [1, 3], "qa_type": "factoid"}
        text = json.dumps({"pairs": valid_pairs(turns) + ([made_up] if turns >= 3 else [])})
    elif d.action == "near_duplicate":
        # The first pair again, the question only repunctuated.
        pairs = valid_pairs(turns)
        again = [dict(pairs[0], question="What was done in turn 1, and in turn 3?")] if pairs else []
        text = json.dumps({"pairs": pairs + again})
    elif d.action == "record":
        extra = placeholder_pair(prompt)
        text = json.dumps({"pairs": valid_pairs(turns) + ([extra] if extra else [])})
    else:
        text = json.dumps({"pairs": valid_pairs(turns)})
    return text, finish


def error_doc(vendor, status, message):
    """The vendor's error body for an HTTP status."""
    if vendor == "gemini":
        return {"error": {"code": status, "message": message,
                          "status": GEMINI_STATUS.get(status, "UNKNOWN")}}
    if vendor == "openai":
        return {"error": {"message": message, "type": OPENAI_TYPE.get(status, "server_error"),
                          "param": None, "code": None}}
    return {"type": "error", "error": {"type": ANTHROPIC_TYPE.get(status, "api_error"),
                                       "message": message}}


def abbreviated(value):
    """The request body as logged: long strings (prompts) shortened, so a
    benchmark's thousands of requests do not pile up their prompts."""
    if isinstance(value, str) and len(value) > LOGGED_STRING_CHARS:
        return value[:LOGGED_STRING_CHARS] + f"... [{len(value)} chars]"
    if isinstance(value, dict):
        return {k: abbreviated(v) for k, v in value.items()}
    if isinstance(value, list):
        return [abbreviated(v) for v in value]
    return value


def prompt_text(vendor, body):
    if not isinstance(body, dict):
        return ""
    texts = []
    if vendor == "gemini":
        for content in body.get("contents") or []:
            texts += [p.get("text", "") for p in content.get("parts") or [] if isinstance(p, dict)]
    else:
        for message in body.get("messages") or []:
            content = message.get("content")
            if isinstance(content, str):
                texts.append(content)
            elif isinstance(content, list):
                texts += [b.get("text", "") for b in content if isinstance(b, dict)]
    return "\n".join(texts)


def missing_key_message(vendor):
    return {
        "gemini": "Method doesn't allow unregistered callers (callers without established identity). "
                  "Please use API Key or other form of API consumer identity to call this API.",
        "openai": "You didn't provide an API key. You need to provide your API key in an "
                  "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        "anthropic": "x-api-key header is required",
    }[vendor]


def key_message(vendor, key):
    """As some vendors do, the 401/403 message quotes the key it got."""
    return {
        "gemini": f"API key not valid. Please pass a valid API key. (key: {key})",
        "openai": f"Incorrect API key provided: {key}. You can find your API key at "
                  "https://platform.openai.com/account/api-keys.",
        "anthropic": f"invalid x-api-key: {key}",
    }[vendor]


def model_reply(vendor, model, text, tokens_in, tokens_out, finish):
    if vendor == "gemini":
        return {
            "candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                            "finishReason": finish, "index": 0}],
            "usageMetadata": {"promptTokenCount": tokens_in, "candidatesTokenCount": tokens_out,
                              "thoughtsTokenCount": GEMINI_THOUGHT_TOKENS,
                              "totalTokenCount": tokens_in + tokens_out + GEMINI_THOUGHT_TOKENS},
            "modelVersion": model,
        }
    if vendor == "openai":
        return {
            "id": "chatcmpl-mock", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": finish}],
            "usage": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out,
                      "total_tokens": tokens_in + tokens_out},
        }
    return {
        "id": "msg_mock", "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "text", "text": text}], "stop_reason": finish, "stop_sequence": None,
        "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out},
    }


# --- hostile replies (issue 9) -------------------------------------------
# Built as text, not with json.dumps: Python's encoder recurses and could not
# write the deep documents.

def nested(n):
    return "[" * n + "1" + "]" * n


def hostile_deep(handler, vendor, model, prompt, key, turns, d):
    """mock:deep=N: the pair object carries "x" nested N levels deep."""
    pair = json.dumps(valid_pairs(max(turns, 3))[0])
    text = '{"pairs": [' + pair[:-1] + ', "x": ' + nested(d.n or 0) + "}]}"
    envelope = json.dumps(model_reply(vendor, model, text, 1, 1, DONE_REASON[vendor]))
    handler.send_raw(200, envelope.encode())


def hostile_deep_envelope(handler, vendor, model, prompt, key, turns, d):
    """mock:deep_envelope=N: a good reply whose envelope has "x" nested N deep."""
    text = json.dumps({"pairs": valid_pairs(turns)})
    envelope = json.dumps(model_reply(vendor, model, text, 1, 1, DONE_REASON[vendor]))
    handler.send_raw(200, ('{"x": ' + nested(d.n or 0) + ", " + envelope[1:]).encode())


def hostile_wrong_types(handler, vendor, model, prompt, key, turns, d):
    """mock:wrong_types: good pairs in an envelope whose other fields have
    unexpected JSON types."""
    text = json.dumps({"pairs": valid_pairs(turns)})
    doc = model_reply(vendor, model, text, 1, 1, DONE_REASON[vendor])
    if vendor == "gemini":
        doc["candidates"][0]["content"]["parts"] = [{"text": "thinking", "thought": "yes"},
                                                    {"text": text, "thought": "no"}]
        doc["candidates"][0]["finishReason"] = 7
        doc["usageMetadata"] = {"promptTokenCount": "12", "candidatesTokenCount": [1],
                                "thoughtsTokenCount": {"n": 1}}
    elif vendor == "openai":
        doc["choices"][0]["finish_reason"] = ["stop"]
        doc["choices"][0]["message"]["refusal"] = {"reason": 1}
        doc["usage"] = {"prompt_tokens": 1.5, "completion_tokens": "3"}
    else:
        doc["content"] = [{"type": 5, "text": "x"}, {"type": "text", "text": text}, "block"]
        doc["stop_reason"] = {"why": "end"}
        doc["usage"] = {"input_tokens": None, "output_tokens": True}
    handler.send_json(200, doc)


def mixed_escapes(text):
    """text with every other character written as a JSON \\u escape."""
    return "".join(c if i % 2 else "\\u%04x" % ord(c) for i, c in enumerate(text))


def percent_encoded(text):
    return "".join("%%%02X" % b for b in text.encode())


def hostile_echo_key(handler, vendor, model, prompt, key, turns, d):
    """mock:echo_key: good pairs that quote the key the server got: as is,
    JSON-escaped, percent-encoded, next to a NUL character."""
    pairs = valid_pairs(max(turns, 3))
    first = json.dumps(dict(pairs[0], answer="The key is " + key + ".\u0000 done"))
    second = json.dumps(pairs[1])
    # Escapes written into the model's text, so parsing decodes them.
    first = first[:-1] + ', "note": "' + mixed_escapes(key) + '", "url": "?k=' + percent_encoded(key) + '"}'
    second = second.replace('"question": "', '"question": "' + mixed_escapes(key) + ' ', 1)
    text = '{"pairs": [' + first + ", " + second + "]}"
    handler.send_json(200, model_reply(vendor, model, text, 1, 1, DONE_REASON[vendor]))


def hostile_nasty_error(handler, vendor, model, prompt, key, turns, d):
    """mock:nasty_error: a 400 whose body is not JSON and holds NUL bytes,
    invalid UTF-8, the key JSON-escaped and percent-encoded, and ends in the
    middle of a multibyte character."""
    body = (b"bad request\x00 from \xff\xfe proxy; key=" + mixed_escapes(key).encode() +
            b" url=?k=" + percent_encoded(key).encode() + b" caf\xc3")
    handler.send_raw(400, body)


def hostile_huge_error(handler, vendor, model, prompt, key, turns, d):
    """mock:huge_error=BYTES: a 400 whose JSON error message is BYTES long."""
    message = "x" * (d.n or 0)
    handler.send_error_body(vendor, 400, message)


HOSTILE = {"deep": hostile_deep, "deep_envelope": hostile_deep_envelope,
           "wrong_types": hostile_wrong_types, "echo_key": hostile_echo_key,
           "nasty_error": hostile_nasty_error, "huge_error": hostile_huge_error}


class MockServer(ThreadingHTTPServer):
    daemon_threads = True
    # Many clients connect at once in benchmarks: 256 requests in flight
    # overflowed a backlog of 128 (connections reset, retried, timed out).
    request_queue_size = 1024

    def __init__(self, port, delay_ms, verbose):
        super().__init__(("127.0.0.1", port), Handler)
        self.delay_ms = delay_ms
        self.verbose = verbose
        self.lock = threading.Lock()
        self.log = []
        self.counters = {}
        self.started = time.monotonic()
        # Batch mode: jobs and files by id, guarded by their own lock (a job's
        # results take `lock` for the shared counters while this one is held).
        self.batch_lock = threading.Lock()
        self.batches = {}
        self.files = {}
        self.next_id = 0

    def now_ms(self):
        return round((time.monotonic() - self.started) * 1000, 3)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", help="where to write the port once listening")
    parser.add_argument("--delay-ms", type=int, default=0, help="added to every model reply")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    server = MockServer(args.port, args.delay_ms, args.verbose)
    if args.port_file:
        # Written whole and renamed, so a reader never sees a partial number.
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(server.server_address[1]))
        os.replace(tmp, args.port_file)
    try:
        server.serve_forever(poll_interval=0.05)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
