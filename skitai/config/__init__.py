"""skitai.config"""
