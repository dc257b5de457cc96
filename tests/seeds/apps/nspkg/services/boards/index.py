def __mount__ (app):
    @app.route ('/search')
    def search (was, q):
        return q
