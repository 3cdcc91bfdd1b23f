"""Validates HTTP exchanges with /api/v1 against its OpenAPI document, with openapi-core.

Usage: python openapi_traffic.py openapi.json [traffic.jsonl]

Each input line (the file, else standard input) is one exchange as JSON:
{"method", "path", "query", "headers": [[name, value], ...], "body": base64,
 "status", "responseHeaders": [[name, value], ...], "responseBody": base64}.
For each line it prints one line of JSON: {"request": [errors], "response": [errors],
"operation": bool} (`operation`: whether the document has the method at the path). With a
file it prints every exchange that fails and exits 1 if any did (see `verdict`).
"""

import base64
import json
import sys

from openapi_core import OpenAPI
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.testing import MockRequest, MockResponse


def describe(error):
    """The error with its causes and, for schema errors, each failing rule."""
    parts = [f"{type(error).__name__}: {error}"]
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        for schema_error in getattr(error, "schema_errors", None) or []:
            where = "/".join(str(p) for p in schema_error.absolute_path)
            parts.append(f"  at /{where}: {schema_error.message}")
        error = error.__cause__ or error.__context__
        if error is not None and id(error) not in seen:
            parts.append(f"  caused by {type(error).__name__}: {error}")
    return "\n".join(parts)


def content_type(headers):
    for name, value in headers:
        if name.lower() == "content-type":
            return value
    return ""


def check(api, exchange):
    headers = exchange["headers"]
    cookies = {}
    names = {name.lower() for name, _ in headers}
    if not {"authorization", "cookie"} & names and exchange["status"] != 401:
        # A client's cookie store adds its cookies after the recorder saw the request: a
        # request without credentials that was not refused carried the session cookie.
        cookies["switchboard_session"] = "(from the client's cookie store)"
    for name, value in headers:
        if name.lower() == "cookie":
            for pair in value.split(";"):
                key, _, val = pair.strip().partition("=")
                cookies[key] = val
    request = MockRequest(
        "http://127.0.0.1",
        exchange["method"],
        exchange["path"],
        args=[(k, v) for k, v in exchange["query"]],
        headers=headers,
        cookies=cookies,
        data=base64.b64decode(exchange["body"]),
        content_type=content_type(headers),
    )
    response_headers = exchange["responseHeaders"]
    response = MockResponse(
        base64.b64decode(exchange["responseBody"]),
        status_code=exchange["status"],
        headers=response_headers,
        content_type=content_type(response_headers),
    )
    request_errors = [describe(e) for e in api.iter_request_errors(request)]
    operation = not any(
        isinstance(e, PathError) for e in api.iter_request_errors(request)
    )
    response_errors = []
    if operation:
        response_errors = [describe(e) for e in api.iter_response_errors(request, response)]
    return {"request": request_errors, "response": response_errors, "operation": operation}


def verdict(exchange, result):
    """What is wrong with one exchange, or None. A request the document refuses must be
    refused (4xx); an answer must be one the document describes; a method or path the
    document lacks must be 404 or 405."""
    status = exchange["status"]
    problems = []
    if not result["operation"]:
        if status not in (401, 404, 405):
            problems.append(f"undocumented {exchange['method']} {exchange['path']} answered {status}")
        return problems or None
    if result["request"] and not 400 <= status < 500:
        problems.append(f"the server answered {status} to a request the document refuses:")
        problems.extend(result["request"])
    if result["response"]:
        problems.append(f"the {status} answer is not what the document describes:")
        problems.extend(result["response"])
    return problems or None


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        api = OpenAPI.from_dict(json.load(f))
    if len(sys.argv) > 2:
        failed = total = 0
        with open(sys.argv[2], encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                total = n
                exchange = json.loads(line)
                problems = verdict(exchange, check(api, exchange))
                if problems:
                    failed += 1
                    print(f"exchange {n}: {exchange['method']} {exchange['path']}")
                    print("\n".join(problems))
        print(f"{total} exchanges, {failed} failed")
        sys.exit(1 if failed else 0)
    for line in sys.stdin:
        exchange = json.loads(line)
        try:
            result = check(api, exchange)
            result["problems"] = verdict(exchange, result)
        except Exception as e:  # a crash of the validator is a failure too, not a hang
            result = {"problems": [f"validator crashed: {describe(e)}"]}
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
