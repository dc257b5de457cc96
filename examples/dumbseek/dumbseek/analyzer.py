def analyze(query):
    return query.lower().split()


# atila hooks ------------------------
def __mount__(context, app):
    @app.route("/tokens", methods=["POST", "OPTIONS"])
    def tokens(context, query):
        return context.API(result=analyze(query))
