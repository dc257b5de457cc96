"""skitai.process"""
