from . import feature1, feature2


def __setup__ (app, mntopt):
    from .boards import index as boards_index
    from .v1 import account
    app.mount ('/feature1', feature1)
    app.mount ('/feature2', feature2)
    app.mount ('/boards', boards_index)
    app.mount ('/v1', account)


def __mount__ (app, mntopt):
    @app.route ('/')
    def index (was):
        return '<a href="{}">Feature 1</a> | <a href="{}">Feature 2</a>'.format (
            was.urlfor ('feature1.index'),
            was.urlfor ('feature2.index')
        )

    @app.route ('/contactus')
    def contactus (was):
        return 'Contact Us'

    @app.route ("/navigate")
    def navigate (was, limit = 20, pageno = 1):
        return was.API (
            a = was.urlfor ("navigate", was.request.args.limit, 3),
            b = was.urlpatch ("navigate", pageno = 3),
            c = was.basepath ("navigate"),
            d = was.urlfor ('boards.index.search', q = 'news'),
            e = was.urlfor ("v1.account.register"),
        )
