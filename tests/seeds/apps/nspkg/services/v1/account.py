def __mount__ (app):
    @app.route ("/register")
    def register (was):
        return "register"
