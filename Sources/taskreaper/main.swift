print("taskreaper")
