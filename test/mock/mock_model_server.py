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


# --- eval prompts (trajc_eval): a candidate answering, a judge grading -----
ANSWER_MARK = "reply exactly: unknown"
JUDGE_MARK = "Is the model response correct? Answer yes or no only."
QUESTION_LINE = re.compile(r"^Question: (.*)$", re.MULTILINE)
JUDGE_PARTS = re.compile(r"Correct Answer: (.*?)\n\nModel Response: (.*?)\n\nIs the model", re.DOTALL)
WRONG_ANSWER = "It was the banana service, at turn 99."


def eval_kind(prompt):
    if JUDGE_MARK in prompt:
        return "judge"
    if ANSWER_MARK in prompt and QUESTION_LINE.search(prompt):
        return "answer"
    return None


def directive_scope(prompt):
    """Where a directive is looked for after the model name: the whole prompt,
    except for eval prompts, where only the question counts (the trajectory
    an answer prompt carries must not script the candidate)."""
    if eval_kind(prompt) is None:
        return prompt
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


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the vendors do
    # Headers and body go out in separate writes; with Nagle on, the body
    # waits for the client's delayed ACK (~40 ms a reply).
    disable_nagle_algorithm = True
    server_version = "trajc-mock/1"

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
        else:
            self.send_json(404, {"error": {"message": "not found"}})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path == "/_reset":
            with self.server.lock:
                self.server.log.clear()
                self.server.counters.clear()
            self.send_json(200, {})
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
        entry = {"path": self.path, "headers": dict(self.headers.items()), "body": abbreviated(body),
                 "session": session, "directive": directive.text,
                 "received_ms": self.server.now_ms(), "replied_ms": None}
        with self.server.lock:
            self.server.log.append(entry)
        if self.server.delay_ms:
            time.sleep(self.server.delay_ms / 1000)
        self.reply(vendor, model, body, prompt, session, directive)
        with self.server.lock:
            entry["replied_ms"] = self.server.now_ms()

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

        finish = DONE_REASON[vendor]
        kind = eval_kind(prompt)
        if kind == "answer" and d.action not in ("non_json", "empty", "truncated"):
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
        else:
            text = json.dumps({"pairs": valid_pairs(turns)})
        self.send_json(200, model_reply(vendor, model, text, len(prompt) // 4, len(text) // 4, finish))

    def send_error_body(self, vendor, status, message, headers=None):
        if vendor == "gemini":
            doc = {"error": {"code": status, "message": message,
                             "status": GEMINI_STATUS.get(status, "UNKNOWN")}}
        elif vendor == "openai":
            doc = {"error": {"message": message, "type": OPENAI_TYPE.get(status, "server_error"),
                             "param": None, "code": None}}
        else:
            doc = {"type": "error", "error": {"type": ANTHROPIC_TYPE.get(status, "api_error"),
                                              "message": message}}
        self.send_json(status, doc, headers)

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
    request_queue_size = 128  # many clients connect at once in benchmarks

    def __init__(self, port, delay_ms, verbose):
        super().__init__(("127.0.0.1", port), Handler)
        self.delay_ms = delay_ms
        self.verbose = verbose
        self.lock = threading.Lock()
        self.log = []
        self.counters = {}
        self.started = time.monotonic()

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
