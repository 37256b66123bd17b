from utfall.cli import main

main()
