def __mount__ (app, mntopt):
    @app.route ('') # this is mapped as '/feature1'
    def index (was):
        return 'Feature 1 Index'
