def __mount__ (app, mntopt):
    @app.route ('')
    def index (was):
        return 'Feature 2 Index'
