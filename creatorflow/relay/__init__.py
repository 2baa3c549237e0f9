"""The relay: sends the messages for inbox events and outbox rows, off every request path.

A web request commits its row and answers; it never waits on the broker. The relay (one or more
`python manage.py run_relay` processes; SKIP LOCKED lets them share the work) sends what is due,
woken by PostgreSQL NOTIFY or polling where there is none, and keeps the pipeline whole when
something failed: messages the broker lost are sent again, and work whose worker died is freed
once its heartbeat stops. Beat runs the same passes every 30–60 s as a safety net.
"""
