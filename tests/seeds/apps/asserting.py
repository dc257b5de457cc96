# [001] "assert-based quick error" (kept out of the test modules: pytest rewrites their asserts)
from atila import Atila

app = Atila (__name__)

@app.route ("/assert")
def asserted (was, filename = "x.gif"):
    assert filename.endswith ("png"), was.Error ("400 Not My Fault", "filename must be end with png")
    return "ok"
