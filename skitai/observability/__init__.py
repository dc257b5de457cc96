"""skitai.observability"""
