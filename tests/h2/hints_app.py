"""Atila app using the seeds' push API (served as 103 Early Hints)."""

from atila import Atila

app = Atila(__name__)


@app.route("/")
def index(context):
    context.push("/images/A.png")
    context.response.hint_promise("/images/B.png")
    return 'Promise Sent<br><br><img src="/images/A.png"><img src="/images/B.png">'
