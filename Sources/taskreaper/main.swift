TaskReaperCommand.runAndExit()
