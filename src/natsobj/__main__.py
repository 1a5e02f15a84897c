"""`python -m natsobj`: the natsobj command line."""

from natsobj.cli import main

if __name__ == "__main__":
    main()
