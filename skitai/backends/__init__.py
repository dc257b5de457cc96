"""skitai.backends"""
