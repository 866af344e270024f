package newsfeed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;

/** Reads newsfeed's enriched topic and checks every record against schemas/enriched-article.v2.json;
 *  prints `valid KEY LANGUAGE STORY_ID FOCUS_COUNTRIES` per record.
 *  Usage: EnrichedConsumer BOOTSTRAP TOPIC SCHEMA_DIR COUNT GROUP; exit 1 at the first invalid record. */
public class EnrichedConsumer {
    static final String SCHEMA_ID = "https://newsfeed.example/schemas/";

    /** The article's focus countries (ISO codes, comma-separated; "-" when none): what a consumer filters on. */
    static String focusCountries(JsonNode article) {
        List<String> codes = new ArrayList<>();
        for (JsonNode country : article.path("countries")) {
            if (country.path("focus").asBoolean()) codes.add(country.path("code").asText());
        }
        return codes.isEmpty() ? "-" : String.join(",", codes);
    }

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], topic = args[1], group = args[4];
        int count = Integer.parseInt(args[3]);
        // the schemas' $ids live under SCHEMA_ID; their $refs are resolved from the local schemas/ directory
        JsonSchemaFactory factory = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012, builder ->
                builder.schemaMappers(m -> m.mapPrefix(SCHEMA_ID, Path.of(args[2]).toUri().toString())));
        SchemaValidatorsConfig config = SchemaValidatorsConfig.builder().formatAssertionsEnabled(true).build();
        JsonSchema schema = factory.getSchema(SchemaLocation.of(SCHEMA_ID + "enriched-article.v2.json"), config);
        ObjectMapper json = new ObjectMapper();

        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrap);
        props.put("group.id", group);
        props.put("auto.offset.reset", "earliest");
        props.put("key.deserializer", StringDeserializer.class.getName());
        props.put("value.deserializer", StringDeserializer.class.getName());
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
            consumer.subscribe(List.of(topic));
            int read = 0;
            while (read < count) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(500))) {
                    JsonNode article = json.readTree(record.value());
                    Set<ValidationMessage> errors = schema.validate(article);
                    for (ValidationMessage error : errors) {
                        System.out.printf("INVALID %s at %s: %s (schema path %s)%n", record.key(),
                                error.getInstanceLocation(), error.getMessage(), error.getSchemaLocation());
                    }
                    if (!errors.isEmpty()) System.exit(1);
                    System.out.printf("valid %s %s %s %s%n", record.key(), article.path("language").path("code").asText(),
                            article.path("story").path("id").asText(), focusCountries(article));
                    read++;
                }
            }
        }
    }
}
