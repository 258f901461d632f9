#!/usr/bin/env python3
"""The local stand-in for Lambda's SQS event source mapping: moves the messages of a queue on
the local SQS server (moto) to a function served by `cargo lambda watch`, as Lambda's poller
does in a deployment: batches of up to 10 messages as an SQS event, the messages the
function answers in `batchItemFailures` (or all, if the invocation fails) left on the queue
to be delivered again after their visibility timeout, the others deleted.

    sqs-to-lambda.py create --endpoint URL --name NAME [--visibility-timeout S]   # prints the URL
    sqs-to-lambda.py pump --endpoint URL --queue-url URL --invoke-url URL         # until killed
"""
import argparse
import json
import sys
import time
import urllib.error
import urllib.request

import boto3


def client(endpoint):
    return boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def create(args):
    sqs = client(args.endpoint)
    url = sqs.create_queue(
        QueueName=args.name,
        Attributes={"VisibilityTimeout": str(args.visibility_timeout)},
    )["QueueUrl"]
    print(url)


def invoke(url, event):
    """The function's answer, or None when the invocation failed."""
    req = urllib.request.Request(
        url,
        data=json.dumps(event).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=900) as res:
            if res.headers.get("x-amz-function-error"):
                return None
            body = res.read()
            return json.loads(body) if body else {}
    except (urllib.error.URLError, OSError, ValueError) as e:
        print(f"invoke failed: {e}", file=sys.stderr, flush=True)
        return None


def pump(args):
    sqs = client(args.endpoint)
    arn = "arn:aws:sqs:us-east-1:000000000000:" + args.queue_url.rstrip("/").split("/")[-1]
    while True:
        try:
            got = sqs.receive_message(
                QueueUrl=args.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", [])
        except Exception as e:  # the server restarting: try again
            print(f"receive failed: {e}", file=sys.stderr, flush=True)
            time.sleep(1)
            continue
        if not got:
            continue
        event = {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": {},
                    "messageAttributes": {},
                    "md5OfBody": m.get("MD5OfBody", ""),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": arn,
                    "awsRegion": "us-east-1",
                }
                for m in got
            ]
        }
        answer = invoke(args.invoke_url, event)
        if answer is None:
            failed = {m["MessageId"] for m in got}
        else:
            failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
        done = [m for m in got if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=args.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(done)
                ],
            )
        print(
            f"{len(got)} message(s) delivered, {len(failed)} left for redelivery",
            file=sys.stderr,
            flush=True,
        )


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("create")
    c.add_argument("--endpoint", required=True)
    c.add_argument("--name", required=True)
    c.add_argument("--visibility-timeout", type=int, default=30)
    c.set_defaults(run=create)
    q = sub.add_parser("pump")
    q.add_argument("--endpoint", required=True)
    q.add_argument("--queue-url", required=True)
    q.add_argument("--invoke-url", required=True)
    q.set_defaults(run=pump)
    args = p.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
