import { Button, Card, CardFooter, CardHeader, Text } from "@fluentui/react-components";
import * as React from "react";

import type { Localize } from "../services/strings";
import { Heading } from "./Heading";

export interface IntegrationsGalleryProps {
  readonly t: Localize;
  readonly onCreate: (integration: "streamone") => void;
  readonly onBack: () => void;
}

/** The Add New gallery: one tile per integration this control provides (StreamOne), each with Create. */
export function IntegrationsGallery(props: IntegrationsGalleryProps): React.ReactElement {
  const { t, onCreate, onBack } = props;
  const headingRef = React.useRef<HTMLHeadingElement>(null);
  React.useEffect(() => headingRef.current?.focus(), []);
  const title = t("Tile_StreamOne_Title");
  return (
    <section aria-labelledby="w365-gallery-title">
      <Heading level={2} id="w365-gallery-title" ref={headingRef}>
        {t("Gallery_Title")}
      </Heading>
      <Text as="p">{t("Gallery_Description")}</Text>
      <ul role="list" style={{ listStyle: "none", padding: 0, display: "flex", flexWrap: "wrap", gap: 16 }}>
        <li>
          <Card style={{ width: 280 }} data-testid="tile-streamone" aria-labelledby="w365-tile-streamone">
            <CardHeader
              header={
                <Text weight="semibold" id="w365-tile-streamone">
                  {title}
                </Text>
              }
              description={<Text size={200}>{t("Tile_StreamOne_Description")}</Text>}
            />
            <CardFooter>
              <Button appearance="primary" aria-label={t("Tile_CreateAria", title)} onClick={() => onCreate("streamone")}>
                {t("Tile_Create")}
              </Button>
            </CardFooter>
          </Card>
        </li>
      </ul>
      <Button appearance="subtle" onClick={onBack}>
        {t("Gallery_Back")}
      </Button>
    </section>
  );
}
