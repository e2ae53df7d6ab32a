from stages.dedupe.evalset import main

main()
