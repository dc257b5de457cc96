"""skitai.server"""
