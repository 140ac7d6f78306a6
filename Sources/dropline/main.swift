print("dropline")
