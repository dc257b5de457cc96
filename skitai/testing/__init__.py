"""skitai.testing"""
