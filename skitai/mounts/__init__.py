"""skitai.mounts"""
