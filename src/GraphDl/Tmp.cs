namespace GraphDl; public static class Placeholder_ { }
